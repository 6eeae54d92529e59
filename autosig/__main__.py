from autosig.cli import main

raise SystemExit(main())
