"""The error every part of the PDCA review raises (review log, ROI settings, targets file)."""

from __future__ import annotations

from dxkpi.core.errors import DxkpiError

__all__ = ["PdcaError"]


class PdcaError(DxkpiError):
    """The PDCA review cannot be built as asked (review log, ROI settings, targets file)."""
