from hardencheck.cli import main

raise SystemExit(main())
