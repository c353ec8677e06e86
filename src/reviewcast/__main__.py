from __future__ import annotations

from reviewcast.cli import main

raise SystemExit(main())
