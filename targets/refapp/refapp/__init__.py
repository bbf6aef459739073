"""refapp: the reference target of the persistence verification harness.

One small FastAPI app with an endpoint set for every state kind the harness
checks (sessions, files, quotes, rate limits, cooldowns, records, counters).
The STORAGE setting picks how state is kept: ``durable`` is correct, every
other mode reproduces a real persistence bug so the harness can prove it
catches it. See ``refapp.modes`` for what each mode wires together.
``refapp.pages`` is a server-rendered front end (HTML forms, a session cookie,
redirects to a login page) on the same stores.
"""
