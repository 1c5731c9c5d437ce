"""Live collection: a Microsoft 365 tenant -> snapshot over HTTPS (msal + httpx).

`run_collection(options) -> snapshot dict` is the seam for `connguard collect` and
`connguard scan --live`; `collect(options)` also returns per-source progress counters.
Module map: endpoints (clouds), auth (msal credentials), http/retry/ratelimit/apierror
(the shared client), one module per source (exchange, messagetrace, hunting +
mailstats_source, alerts, audit, identity), runner (concurrency and assembly), progress
(what a person sees).
"""

from connguard.collectors.live.auth import CredentialOptions
from connguard.collectors.live.runner import (
    Collection,
    CollectOptions,
    collect,
    run_collection,
)

__all__ = ["CollectOptions", "Collection", "CredentialOptions", "collect", "run_collection"]
