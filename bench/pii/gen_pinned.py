#!/usr/bin/env python3
"""Run the shared corpus generator with Faker's "today" pinned.

Faker's date_of_birth() counts ages from the current date, so the shared
generator's output (and its corpus.sha256) depends on the day it runs. This
wrapper pins that day (default: PII_TODAY=2026-11-22, the day the anchors'
corpus was generated) and then runs gen_corpus.py unchanged:

  python gen_pinned.py /path/to/gen_corpus.py --out DIR --check
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

if __name__ == "__main__":
    gen = sys.argv[1]
    sys.argv = [gen] + sys.argv[2:]
    sys.path.insert(0, os.path.dirname(os.path.abspath(gen)))
    runpy.run_path(gen, run_name="__main__")
