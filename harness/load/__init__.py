"""Rate limits under real load: locust across every replica, one record per response.

``plan`` renders the target's rate-limited request per client key; ``runner`` runs
locust (``locustfile.py``) headless in its own processes; ``endpoints`` publishes the
replicas' addresses to it; ``faults`` crashes or restarts a replica meanwhile;
``records`` merges the per-response records into a history; ``scenario`` ties them
into one judged scenario. Nothing here imports locust: it monkey-patches the
process it is imported in.
"""
