from pacer.cli import main

raise SystemExit(main())
