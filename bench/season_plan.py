"""The season bench's plan (pure): how many schools, classes, mentors and MBO institutions a national
season of N students has, and for each phase how much work it holds, how long it lasts in the real
season, the speed-up it is played at, and so the arrival rate and the seconds it takes here.

The national season is about 90,000 VMBO students in their last year, in about 150 schools of 600
(classes of 25, a mentor each, a counsellor and a school admin per school), sending their dossiers
to about 60 MBO institutions, over twelve weeks:

    a  week 1       counsellors import their rosters, invite the mentors and mail the activation codes
    b  weeks 2-4    the students register with their codes
    c  weeks 5-10   the dossiers: part A, submit, part B by the mentor, agreement (a parent where the
                    school asks consent), complete
    d  weeks 11-12  the MBO institutions handle the completed dossiers

Each phase is played at its own speed-up: the work of a phase is not spread evenly over the season
(a week of codes is 90,000 mails, six weeks of dossiers are 2 million requests), so one speed-up
for all would leave the machine idle in one phase and drown it in the next. Without ``--speedup`` each
phase gets the speed-up that offers about ``LOAD`` of what this 2-core machine handles in that phase
(``CAPACITY``, measured with bench.season itself); ``--speedup S`` plays every phase at S.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

NATIONAL = 90_000
WEEK = 7 * 24 * 3600
SCHOOL_SIZE, CLASS_SIZE, STUDENTS_PER_MBO, PROGRAMMES_PER_MBO = 600, 25, 1500, 5
CONSENT_EVERY = 3  # every third VO school asks a parent's consent (the students are 16)

# phase key -> (what, weeks of the season, what one unit of work is)
PHASES = {
    "a": ("rosters, mentors invited, activation codes by mail", 1, "school"),
    "b": ("registrations with the codes", 3, "student"),
    "c": ("dossiers: part A, part B, agreement, complete", 6, "dossier"),
    "d": ("MBO handling of the completed dossiers", 2, "dossier"),
}
# units per second this machine handles per phase with everything on its 2 cores (measured at 2,000
# students); the auto speed-up offers LOAD of it, so the open loop stays below saturation
CAPACITY = {"a": 0.25, "b": 60.0, "c": 7.0, "d": 100.0}
LOAD = 0.6


@dataclass(frozen=True)
class Phase:
    key: str
    what: str
    weeks: int
    unit: str
    units: int
    speedup: float

    @property
    def season_seconds(self) -> float:
        return self.weeks * WEEK

    @property
    def seconds(self) -> float:
        """How long the phase lasts here."""
        return self.season_seconds / self.speedup

    @property
    def rate(self) -> float:
        """Units per second offered here (open loop)."""
        return self.units / self.seconds


@dataclass(frozen=True)
class SeasonPlan:
    students: int
    vo_schools: int
    classes: int
    mbo_schools: int
    phases: tuple[Phase, ...]

    @property
    def fraction(self) -> float:
        return self.students / NATIONAL

    @property
    def seconds(self) -> float:
        return sum(p.seconds for p in self.phases)

    @property
    def weeks(self) -> int:
        return sum(p.weeks for p in self.phases)

    @property
    def speedup(self) -> float:
        """The whole season's speed-up: its weeks over the seconds they take here."""
        return self.weeks * WEEK / self.seconds

    def phase(self, key: str) -> Phase:
        return next(p for p in self.phases if p.key == key)

    def school_of(self, student: int) -> int:
        """The VO school (0-based) of student ``student`` (0-based): schools are filled in turn."""
        return student * self.vo_schools // self.students

    def students_of(self, school: int) -> range:
        first = -(-school * self.students // self.vo_schools)
        last = -(-(school + 1) * self.students // self.vo_schools)
        return range(first, last)

    def mbo_of(self, student: int) -> int:
        return student % self.mbo_schools


def auto_speedup(key: str, units: int, weeks: int) -> float:
    """The speed-up at which phase ``key`` offers LOAD of the machine's capacity, rounded down to two
    significant figures (so the printed figure is the one used)."""
    exact = CAPACITY[key] * LOAD * weeks * WEEK / max(units, 1)
    digits = 10 ** max(0, int(math.log10(exact)) - 1)
    return max(1.0, float(math.floor(exact / digits) * digits))


def plan(students: int = NATIONAL, speedup: float | None = None) -> SeasonPlan:
    if students < 1:
        raise ValueError("students: at least 1")
    if speedup is not None and speedup <= 0:
        raise ValueError("speedup: a positive number")
    vo = max(1, round(students / SCHOOL_SIZE))
    classes = sum(math.ceil(len(r) / CLASS_SIZE) for r in
                  (range(-(-s * students // vo), -(-(s + 1) * students // vo)) for s in range(vo)))
    mbo = max(1, round(students / STUDENTS_PER_MBO))
    units = {"a": vo, "b": students, "c": students, "d": students}
    phases = tuple(Phase(key, what, weeks, unit, units[key],
                         speedup if speedup is not None else auto_speedup(key, units[key], weeks))
                   for key, (what, weeks, unit) in PHASES.items())
    return SeasonPlan(students, vo, classes, mbo, phases)


def valid_bsn(n: int) -> str:
    """A nine-digit number passing the eleven test, different for every ``n`` < 10,000,000: "1", the
    seven digits of ``n`` and the check digit; where no check digit fits, "2" in front instead (the
    first weight is 9, so that moves the sum to a remainder that fits)."""
    if not 0 <= n < 10_000_000:
        raise ValueError(n)
    for first in (1, 2):
        digits = [first, *(int(c) for c in f"{n:07d}")]
        last = sum(d * w for d, w in zip(digits, range(9, 1, -1))) % 11
        if last < 10:
            return "".join(map(str, digits)) + str(last)
    raise AssertionError(n)


def describe(p: SeasonPlan) -> list[str]:
    """The plan in lines, as the bench prints it first."""
    national = "the national season" if p.students == NATIONAL else \
        f"{p.fraction:.3g} of the national {NATIONAL:,} ({p.students:,} students)"
    lines = [(f"season: {national}; {p.vo_schools} VMBO schools (classes of {CLASS_SIZE}, a mentor each, a counsellor "
              f"and a school admin), {p.classes:,} classes, {p.mbo_schools} MBO institutions receiving; every "
              f"{CONSENT_EVERY}rd school asks a parent's consent"),
             f"a {p.weeks}-week season in {p.seconds / 60:.1f} minutes (overall speed-up {p.speedup:,.0f}):"]
    for ph in p.phases:
        lines.append(f"  {ph.key}) {ph.what}: {ph.weeks} week{'s' if ph.weeks > 1 else ''} at speed-up "
                     f"{ph.speedup:,.0f} = {ph.seconds:,.0f} s here, {ph.units:,} {ph.unit}s at {ph.rate:,.2f}/s")
    return lines
