"""The local observability stack: Prometheus, Alertmanager and Pushgateway on loopback.

`loadwatch stack up|down|status` starts them detached (pid files under ``var/stack``), with the
configuration generated from sla.yaml, and reports their health, scrape targets and firing
alerts. The binaries come from Debian's packages; `components.missing_binaries` says which
package to install when one is absent.
"""

__all__: list[str] = []
