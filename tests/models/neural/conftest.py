"""Neural tests run torch single-threaded: the tiny models here gain nothing from more threads, and on a shared
machine extra OpenMP threads mostly wait on each other."""

import os

os.environ.setdefault("COFIREC_THREADS", "1")
