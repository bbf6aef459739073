# The reaper (harness/reaper.py): removes a harness process's labelled Swarm services and configs,
# containers, networks and volumes once that process's connection to it drops. Python's standard
# library only.
ARG BASE
FROM ${BASE}
RUN apt-get update -q \
 && apt-get install -y -q --no-install-recommends python3 \
 && rm -rf /var/lib/apt/lists/*
COPY reaper.py /reaper.py
EXPOSE 8080
ENTRYPOINT ["python3", "-I", "-u", "/reaper.py"]
