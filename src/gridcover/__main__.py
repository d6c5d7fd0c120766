from gridcover.cli import main

raise SystemExit(main())
