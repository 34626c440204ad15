"""Generated data: the seeded demo operation, the labelled evacuation lists record linkage is
measured against, a planning problem and a day at the airport.

These generators feed the demo, the benchmarks and the tests; the product never calls them. They
sit above the rest of the code (the demo builds a whole operation through ``bootstrap`` and the
services, the lists parse their dates as an import does), so nothing outside this package and
the command line imports them, and linkage/, planning/ and simulation/ keep their engines alone.
"""
