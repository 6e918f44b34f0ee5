from levelforge.cli import main

raise SystemExit(main())
