"""The built-in sample city and its planted truth (the test oracle).

``generate_city(out)`` writes about 2,000 staff in 40 departments over FY2022–FY2025 into
``out`` as CSV (UTF-8, UTF-8 with BOM, CP932) and XLSX files with English or Japanese headers
and values, wareki / slash / ISO dates, full-width digits, an ignored column and a personal-name
column; plus ``ground_truth.json`` with the planted effects and the planted bad rows.

Headers and Japanese value labels come from :data:`dxkpi.catalogue.contract.DATASETS`. The
core datasets are drawn from one ``numpy.random.Generator(PCG64(seed))``: the same seed gives
byte-identical files.

The planted behavioural effects: each employee has a base monthly proposal rate (job level ×
talent type × an individual gamma frailty with mean 1) times a city-wide fiscal-year and
seasonal multiplier. From the month AFTER the month of their first *completed* phase-2 course c
the rate is multiplied by ``1 + (factor[talent type] − 1) × s_c`` (s_c per course: 1, ½ or 0);
from the month after their first completed phase-3 course z (completed only after a phase-2
completion) also by m_z (1–1.5). Who is trained when, and in which course, depends only on the
department's roll-out wave, transfers and chance. Leaving at a fiscal-year end depends on the
employee's own proposals that year (low proposers leave more), so the panel is unbalanced in an
outcome-dependent way. ``ground_truth.json`` records, computed from the potential rates: the
programme effect (additive and as a ratio, overall and by talent type and job level), the effect
of each course and phase at the employee's stage, the noise of the proposal counts (Poisson
given the rate: no autocorrelation, no department × month shock), the proposal pipeline's
waiting times exactly from the planted distributions, the leavers, and the conventions behind
every key.

The skill map (``skill_assessment``, ``knowledge_posts``) comes from a second random stream
(``SeedSequence([seed, SKILL_STREAM])``) drawn after the eight core datasets are written, so the
core files are byte-identical with or without it. Planted: the assessed level (latent level
rounded, clipped 0–4) rises by ``SKILL["effect"]`` from the fiscal year of an employee's first
completed phase-2/3 course of that skill area on (``skill_effect`` in the ground truth: the true
ATT on the assessed level per cohort FY and FY); failure posts grow as the programme matures.

Modules, each importing only from those above it: :mod:`~dxkpi.sample.parameters` (planted
parameters and constants), :mod:`~dxkpi.sample.values` (shared value helpers),
:mod:`~dxkpi.sample.people` (departments, staff flows and leaving),
:mod:`~dxkpi.sample.training` (courses, attendance and stages), :mod:`~dxkpi.sample.behaviour`
(the proposal rate model with the planted effects, and the proposals),
:mod:`~dxkpi.sample.history` (the years simulated in order), :mod:`~dxkpi.sample.truth` (the
planted truth), :mod:`~dxkpi.sample.outcomes` (projects and surveys),
:mod:`~dxkpi.sample.skills` (the skill map), :mod:`~dxkpi.sample.roster` (the effective-dated
roster: planted mid-year moves and leaves from a third stream, ``ROSTER_STREAM``, drawn after
every other file is written), :mod:`~dxkpi.sample.faults` (planted bad rows),
:mod:`~dxkpi.sample.forms` (the written files) and :mod:`~dxkpi.sample.city`
(:func:`generate_city` and ``ground_truth.json``).
"""

from __future__ import annotations

from dxkpi.sample.city import SampleSummary, generate_city

__all__ = ["SampleSummary", "generate_city"]
