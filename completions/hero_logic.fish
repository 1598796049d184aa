complete --keep-order --exclusive --command hero_logic --arguments "(COMPLETE=fish hero_logic -- (commandline --current-process --tokenize --cut-at-cursor) (commandline --current-token))"
