from numerai_mcp.cli import main

raise SystemExit(main())
