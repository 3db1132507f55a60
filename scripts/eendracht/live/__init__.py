"""The control room's live page (docs/control-room.md): `eendracht wave serve` serves every
wave, rollback and rehearsal of a programme found under the state, read-only, from their
journals through the report's read-only view (`eendracht.report.view`).

`sources` (which journals), `page` (what a wave's page shows, on top of the report's content),
`koppelingen` (the chain-test matrix), `render` (Jinja2), `hub` (one poller per journal, shared
by every observer), `access` (loopback, TLS and the weekend token), `app` (Starlette routes and
server-sent events), `serve` (uvicorn)."""
