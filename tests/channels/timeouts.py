"""Time-outs of the adapter tests. Calls that should succeed get several seconds, so that a loaded CI machine (two
test workers, a browser, PostgreSQL) never turns a slow answer into a retry the test did not expect; the tests
of time-outs give up after IMPATIENT against simulator answers delayed by twice that or more."""

PATIENT = 5.0
IMPATIENT = 0.3
