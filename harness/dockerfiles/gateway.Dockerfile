# The gateway (harness/backends/gateway.py): one 127.0.0.1 port per replica slot, forwarded to the
# task behind that slot on a network the host cannot reach. Python's standard library only; the
# same first layer as the reaper's, so the two share it.
ARG BASE
FROM ${BASE}
RUN apt-get update -q \
 && apt-get install -y -q --no-install-recommends python3 \
 && rm -rf /var/lib/apt/lists/*
COPY gateway.py /gateway.py
EXPOSE 8080
ENTRYPOINT ["python3", "-I", "-u", "/gateway.py"]
CMD ["8"]
