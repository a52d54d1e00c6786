"""The built-in sample city and its planted truth (the test oracle).

``generate_city(out)`` writes about 2,000 staff in 40 departments over FY2022–FY2025 into
``out`` as CSV (UTF-8, UTF-8 with BOM, CP932) and XLSX files with English or Japanese headers
and values, wareki / slash / ISO dates, full-width digits, an ignored column and a personal-name
column; plus ``ground_truth.json`` with the planted effects and the planted bad rows.

Headers and Japanese value labels come from :data:`dxkpi.catalogue.contract.DATASETS`. The
core datasets are drawn from one ``numpy.random.Generator(PCG64(seed))``: the same seed gives
byte-identical files.

The planted behavioural effect: each employee has a base monthly proposal rate (job level ×
talent type × an individual gamma frailty with mean 1) times a city-wide fiscal-year and
seasonal multiplier; from the month of their first *completed* phase-2 course on (that whole
month included), the rate is multiplied by a factor that depends on talent type. Who is trained
when depends only on the department's roll-out wave, transfers and chance.

The skill map (``skill_assessment``, ``knowledge_posts``) comes from a second random stream
(``SeedSequence([seed, SKILL_STREAM])``) drawn after the eight core datasets are written, so the
core files are byte-identical with or without it. Planted: the assessed level (latent level
rounded, clipped 0–4) rises by ``SKILL["effect"]`` from the fiscal year of an employee's first
completed phase-2/3 course of that skill area on (``skill_effect`` in the ground truth: the true
ATT on the assessed level per cohort FY and FY); failure posts grow as the programme matures.

Modules, each importing only from those above it: :mod:`~dxkpi.sample.parameters` (planted
parameters and constants), :mod:`~dxkpi.sample.values` (shared value helpers),
:mod:`~dxkpi.sample.people` (departments and staff), :mod:`~dxkpi.sample.training` (courses
and attendance), :mod:`~dxkpi.sample.behaviour` (proposals and the planted effect),
:mod:`~dxkpi.sample.outcomes` (projects and surveys), :mod:`~dxkpi.sample.skills` (the skill
map), :mod:`~dxkpi.sample.faults` (planted bad rows), :mod:`~dxkpi.sample.forms` (the written
files) and :mod:`~dxkpi.sample.city` (:func:`generate_city` and ``ground_truth.json``).
"""

from __future__ import annotations

from dxkpi.sample.city import SampleSummary, generate_city

__all__ = ["SampleSummary", "generate_city"]
