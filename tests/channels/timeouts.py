"""Time-outs of the adapter tests. Calls that should succeed get several seconds, so that a loaded CI machine (two
test workers, a browser, PostgreSQL) never turns a slow answer into a retry the test did not expect. The tests of
time-outs give up after IMPATIENT against simulator answers held back for SLOW: the gap is wide enough that an
ordinary answer on a busy machine does not look like a time-out, nor a held-back one like an answer."""

PATIENT = 5.0
IMPATIENT = 1.0
SLOW = 2.5
