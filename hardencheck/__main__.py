from hardencheck.cli import entry

raise SystemExit(entry())
