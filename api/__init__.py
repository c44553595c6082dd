"""The HTTP entry point (FastAPI): parse a request, call one application-service method, render the answer.

Routes take the use case's command model as their body and hand the service's named method to the
request's ``CommandCall`` (api/gateway.py), which runs it at most once per Idempotency-Key.
"""
