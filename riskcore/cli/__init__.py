"""`python -m riskcore <command>`: a thin CLI; every command opens data and calls the library.

`parser` declares the commands and their flags, `main` runs one (one message and exit code 1 on bad
input, never a traceback); `inputs` reads the data, rules and defaults every command shares, `outputs`
refuses to overwrite an input and writes frames atomically. The commands: `data` (sample, validate,
signals), `scores` (score, backtest, fit, starter), `history` (snapshot, explain, alerts), `plays`
(uplift). Everything is importable from `riskcore.cli`.
"""

from .data import cmd_sample, cmd_signals, cmd_validate
from .history import cmd_alerts, cmd_explain, cmd_snapshot
from .inputs import (MAPPING_FLAGS, CliError, as_of_date, default_table, horizon_days, load_and_score, load_rules,
                     mapping_of, note_unavailable, open_data, print_notes, rules_path)
from .main import main
from .outputs import OUTPUTS, refuse_overwrite, write_frame
from .parser import DESCRIPTION, add_data_flags, add_rules_flag, build_parser, date_arg, positive_arg
from .plays import cmd_uplift
from .scores import cmd_backtest, cmd_fit, cmd_score, cmd_starter

__all__ = [
    "DESCRIPTION", "MAPPING_FLAGS", "OUTPUTS", "CliError", "add_data_flags", "add_rules_flag", "as_of_date",
    "build_parser", "cmd_alerts", "cmd_backtest", "cmd_explain", "cmd_fit", "cmd_sample", "cmd_score",
    "cmd_signals", "cmd_snapshot", "cmd_starter", "cmd_uplift", "cmd_validate", "date_arg", "default_table",
    "horizon_days", "load_and_score", "load_rules", "main", "mapping_of", "note_unavailable", "open_data",
    "positive_arg", "print_notes", "refuse_overwrite", "rules_path", "write_frame",
]
