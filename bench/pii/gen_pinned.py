#!/usr/bin/env python3
"""Run the shared corpus generator with Faker's "today" pinned, and optionally
with person names from other sources.

Faker's date_of_birth() counts ages from the current date, so the shared
generator's output (and its corpus.sha256) depends on the day it runs. This
wrapper pins that day (default: PII_TODAY=2026-11-22, the day the anchors'
corpus was generated) and then runs gen_corpus.py unchanged:

  python gen_pinned.py /path/to/gen_corpus.py --out DIR --check

PII_NAME_LOCALES=en_GB,it_IT,pl_PL (comma-separated Faker locales) draws every
PERSON value (in the tickets, the notes and the `name` column) from those
locales' first- and last-name lists instead of the generator's mix (85% en_US,
15% de_DE/fr_FR/es_ES). The templates, the look-alikes and every other value
are left to the generator; the ground truth records the names actually used.
This measures the name recogniser on names it was not written against.
"""
import datetime as _dt
import os
import runpy
import sys

import faker.providers.date_time as faker_dt

PIN = _dt.date.fromisoformat(os.environ.get("PII_TODAY", "2026-11-22"))


class PinnedDatetime(_dt.datetime):
    @classmethod
    def now(cls, tz=None):
        return cls(PIN.year, PIN.month, PIN.day, 12, 0, 0, tzinfo=tz)

    @classmethod
    def today(cls):
        return cls.now()


faker_dt.datetime = PinnedDatetime


def with_name_locales(gen_class, locales):
    """Replaces gen_class.PERSON by names from `locales`, one Faker per locale,
    seeded from the generator's own seed so the corpus stays deterministic."""
    from faker import Faker

    init = gen_class.__init__

    def __init__(self, seed):
        init(self, seed)
        self.name_fakers = []
        for i, loc in enumerate(locales):
            fk = Faker(loc)
            fk.seed_instance(seed + 101 + i)
            self.name_fakers.append(fk)

    def PERSON(self):
        f = self.r.choice(self.name_fakers)
        return f"{f.first_name()} {f.last_name()}"

    gen_class.__init__ = __init__
    gen_class.PERSON = PERSON


if __name__ == "__main__":
    gen = sys.argv[1]
    sys.argv = [gen] + sys.argv[2:]
    sys.path.insert(0, os.path.dirname(os.path.abspath(gen)))
    locales = [l for l in os.environ.get("PII_NAME_LOCALES", "").split(",") if l]
    if not locales:
        runpy.run_path(gen, run_name="__main__")
    else:
        if "--check" in sys.argv:
            sys.exit("PII_NAME_LOCALES changes the corpus: --check does not apply")
        module = runpy.run_path(gen, run_name="pii_gen")
        with_name_locales(module["Gen"], locales)
        module["main"]()
