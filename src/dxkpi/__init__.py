"""dxkpi: measure whether DX talent development changes how city-hall staff work."""

__version__ = "0.1.0"
