"""Comparison with peer municipalities without sharing personal data.

* :mod:`~dxkpi.peers.share` — the share file a city publishes to its peers: its KPIs as
  numerator and denominator per shareable grouping, after its own suppression; written and read
  with checksums and a schema version.
* :mod:`~dxkpi.peers.benchmark` — many share files pooled (sums of numerators over sums of
  denominators, for every municipality and per category, staff size band and prefecture) with
  suppression re-applied, and funnel-plot data: each municipality's rate against its
  denominator, with 95 % and 99.8 % control limits around the pooled rate (Spiegelhalter 2005).

The stage sits after the KPI engine (:mod:`dxkpi.kpi`), whose cells and suppression it uses;
charts and display tables of the benchmark are in :mod:`dxkpi.reports`.
"""

__all__: list[str] = []
