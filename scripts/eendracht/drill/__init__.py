"""The fallback drill (docs/drill.md): failover to the fallback site and back, measured."""
