"""Rate-limit load across replicas with locust: not implemented yet.

Load runs will drive the rate-limited operation of a target across all replicas in
a separate process (importing locust monkey-patches the process with gevent) and
record every response for exact accounting. Until then this file defines no user
class, so running locust against it does nothing and claims nothing.
"""

raise SystemExit("locustfile.py: rate-limit load is not implemented yet; see README.md")
