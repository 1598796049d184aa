
use builtin;
use str;

set edit:completion:arg-completer[hero_logic] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'hero_logic'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'hero_logic'= {
            cand --json 'Print objects as JSON (the RPC objects) instead of human text'
            cand --start 'Start the server in the background (alias of `hero_logic start`)'
            cand --stop 'Stop the server (alias of `hero_logic stop`)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand start 'Start the server in the background; returns once it answers'
            cand stop 'Stop the server gracefully; running plays resume at its next start'
            cand status 'Say whether the server runs, where, and for how long'
            cand server 'Run the server in the foreground'
            cand info 'Check the service manifest against this binary'
            cand workflow 'Save, list, show and lint workflows'
            cand play 'Start, watch, list, cancel and restart plays'
            cand pending 'List the open pauses of a play'
            cand resume 'Answer a pause: `resume SID ID JSON` for scripts, `resume SID` to be asked'
            cand tui 'Open the dashboard'
            cand rpc 'Call any RPC method and print its result as JSON'
            cand store 'Check or repair the data folder offline (the server stopped)'
            cand sdk 'Where the Python SDK lives'
            cand completions 'Print shell completions'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'hero_logic;start'= {
            cand --json 'Print objects as JSON (the RPC objects) instead of human text'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'hero_logic;stop'= {
            cand --json 'Print objects as JSON (the RPC objects) instead of human text'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'hero_logic;status'= {
            cand --json 'Print objects as JSON (the RPC objects) instead of human text'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'hero_logic;server'= {
            cand --json 'Print objects as JSON (the RPC objects) instead of human text'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'hero_logic;info'= {
            cand --json 'Print objects as JSON (the RPC objects) instead of human text'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand check 'Verify that service.toml and this binary agree; prints `0 issues`'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'hero_logic;info;check'= {
            cand --json 'Print objects as JSON (the RPC objects) instead of human text'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'hero_logic;info;help'= {
            cand check 'Verify that service.toml and this binary agree; prints `0 issues`'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'hero_logic;info;help;check'= {
        }
        &'hero_logic;info;help;help'= {
        }
        &'hero_logic;workflow'= {
            cand --json 'Print objects as JSON (the RPC objects) instead of human text'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand save 'Save a flow script as a new version of a workflow'
            cand list 'List the saved workflows'
            cand show 'Show a workflow: inputs, outputs and versions'
            cand lint 'Flag non-determinism passed into step arguments, without a server'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'hero_logic;workflow;save'= {
            cand --name 'The workflow''s name [default: the file''s stem]'
            cand --json 'Print objects as JSON (the RPC objects) instead of human text'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'hero_logic;workflow;list'= {
            cand --json 'Print objects as JSON (the RPC objects) instead of human text'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'hero_logic;workflow;show'= {
            cand --json 'Print objects as JSON (the RPC objects) instead of human text'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'hero_logic;workflow;lint'= {
            cand --json 'Print objects as JSON (the RPC objects) instead of human text'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'hero_logic;workflow;help'= {
            cand save 'Save a flow script as a new version of a workflow'
            cand list 'List the saved workflows'
            cand show 'Show a workflow: inputs, outputs and versions'
            cand lint 'Flag non-determinism passed into step arguments, without a server'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'hero_logic;workflow;help;save'= {
        }
        &'hero_logic;workflow;help;list'= {
        }
        &'hero_logic;workflow;help;show'= {
        }
        &'hero_logic;workflow;help;lint'= {
        }
        &'hero_logic;workflow;help;help'= {
        }
        &'hero_logic;play'= {
            cand --json 'Print objects as JSON (the RPC objects) instead of human text'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand start 'Start a play of a workflow, or of a FILE.py (saved first)'
            cand list 'List plays, newest first'
            cand show 'Show a play: header and span tree'
            cand wait 'Wait until a play ends or pauses; exit with its status'
            cand logs 'Print a play''s captured stdout and stderr'
            cand cancel 'Cancel a play, its process group and its spawned children'
            cand restart 'Start a fresh play with the same input'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'hero_logic;play;start'= {
            cand --input 'The input of `main`, as a JSON object'
            cand --name 'A name for the play [default: the workflow''s]'
            cand --prefill 'Answer pauses named NAME (a glob) with JSON, without stopping'
            cand --timeout 'Kill a run that takes longer than this many seconds (`timed_out`)'
            cand --wait 'Wait until the play ends or pauses; exit with its status'
            cand --json 'Print objects as JSON (the RPC objects) instead of human text'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'hero_logic;play;list'= {
            cand --status 'Only plays with this status'
            cand --workflow 'Only plays of this workflow (name or sid)'
            cand --limit 'At most this many plays'
            cand --no-children 'Hide child plays spawned by other plays'
            cand --json 'Print objects as JSON (the RPC objects) instead of human text'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'hero_logic;play;show'= {
            cand --json 'Print objects as JSON (the RPC objects) instead of human text'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'hero_logic;play;wait'= {
            cand --timeout 'Give up after this many seconds (exit 124)'
            cand --json 'Print objects as JSON (the RPC objects) instead of human text'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'hero_logic;play;logs'= {
            cand -f 'Keep printing new lines until the play ends or pauses'
            cand --follow 'Keep printing new lines until the play ends or pauses'
            cand --json 'Print objects as JSON (the RPC objects) instead of human text'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'hero_logic;play;cancel'= {
            cand --yes 'Do not ask for confirmation'
            cand --json 'Print objects as JSON (the RPC objects) instead of human text'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'hero_logic;play;restart'= {
            cand --latest 'Run the workflow''s latest version instead of the pinned one'
            cand --json 'Print objects as JSON (the RPC objects) instead of human text'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'hero_logic;play;help'= {
            cand start 'Start a play of a workflow, or of a FILE.py (saved first)'
            cand list 'List plays, newest first'
            cand show 'Show a play: header and span tree'
            cand wait 'Wait until a play ends or pauses; exit with its status'
            cand logs 'Print a play''s captured stdout and stderr'
            cand cancel 'Cancel a play, its process group and its spawned children'
            cand restart 'Start a fresh play with the same input'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'hero_logic;play;help;start'= {
        }
        &'hero_logic;play;help;list'= {
        }
        &'hero_logic;play;help;show'= {
        }
        &'hero_logic;play;help;wait'= {
        }
        &'hero_logic;play;help;logs'= {
        }
        &'hero_logic;play;help;cancel'= {
        }
        &'hero_logic;play;help;restart'= {
        }
        &'hero_logic;play;help;help'= {
        }
        &'hero_logic;pending'= {
            cand --json 'Print objects as JSON (the RPC objects) instead of human text'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'hero_logic;resume'= {
            cand --json 'Print objects as JSON (the RPC objects) instead of human text'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'hero_logic;tui'= {
            cand --json 'Print objects as JSON (the RPC objects) instead of human text'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'hero_logic;rpc'= {
            cand --json 'Print objects as JSON (the RPC objects) instead of human text'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'hero_logic;store'= {
            cand --json 'Print objects as JSON (the RPC objects) instead of human text'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand check 'Say what is damaged in the data folder''s store and journal; exits 1 when something is. The server must be stopped'
            cand repair 'Keep what can be kept of a damaged store, start a fresh journal, and list each play that lost acknowledged data. The server must be stopped'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'hero_logic;store;check'= {
            cand --json 'Print objects as JSON (the RPC objects) instead of human text'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'hero_logic;store;repair'= {
            cand --json 'Print objects as JSON (the RPC objects) instead of human text'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'hero_logic;store;help'= {
            cand check 'Say what is damaged in the data folder''s store and journal; exits 1 when something is. The server must be stopped'
            cand repair 'Keep what can be kept of a damaged store, start a fresh journal, and list each play that lost acknowledged data. The server must be stopped'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'hero_logic;store;help;check'= {
        }
        &'hero_logic;store;help;repair'= {
        }
        &'hero_logic;store;help;help'= {
        }
        &'hero_logic;sdk'= {
            cand --json 'Print objects as JSON (the RPC objects) instead of human text'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand path 'Print the path of hero_tracing.py, for editors and linters'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'hero_logic;sdk;path'= {
            cand --json 'Print objects as JSON (the RPC objects) instead of human text'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'hero_logic;sdk;help'= {
            cand path 'Print the path of hero_tracing.py, for editors and linters'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'hero_logic;sdk;help;path'= {
        }
        &'hero_logic;sdk;help;help'= {
        }
        &'hero_logic;completions'= {
            cand --json 'Print objects as JSON (the RPC objects) instead of human text'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'hero_logic;help'= {
            cand start 'Start the server in the background; returns once it answers'
            cand stop 'Stop the server gracefully; running plays resume at its next start'
            cand status 'Say whether the server runs, where, and for how long'
            cand server 'Run the server in the foreground'
            cand info 'Check the service manifest against this binary'
            cand workflow 'Save, list, show and lint workflows'
            cand play 'Start, watch, list, cancel and restart plays'
            cand pending 'List the open pauses of a play'
            cand resume 'Answer a pause: `resume SID ID JSON` for scripts, `resume SID` to be asked'
            cand tui 'Open the dashboard'
            cand rpc 'Call any RPC method and print its result as JSON'
            cand store 'Check or repair the data folder offline (the server stopped)'
            cand sdk 'Where the Python SDK lives'
            cand completions 'Print shell completions'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'hero_logic;help;start'= {
        }
        &'hero_logic;help;stop'= {
        }
        &'hero_logic;help;status'= {
        }
        &'hero_logic;help;server'= {
        }
        &'hero_logic;help;info'= {
            cand check 'Verify that service.toml and this binary agree; prints `0 issues`'
        }
        &'hero_logic;help;info;check'= {
        }
        &'hero_logic;help;workflow'= {
            cand save 'Save a flow script as a new version of a workflow'
            cand list 'List the saved workflows'
            cand show 'Show a workflow: inputs, outputs and versions'
            cand lint 'Flag non-determinism passed into step arguments, without a server'
        }
        &'hero_logic;help;workflow;save'= {
        }
        &'hero_logic;help;workflow;list'= {
        }
        &'hero_logic;help;workflow;show'= {
        }
        &'hero_logic;help;workflow;lint'= {
        }
        &'hero_logic;help;play'= {
            cand start 'Start a play of a workflow, or of a FILE.py (saved first)'
            cand list 'List plays, newest first'
            cand show 'Show a play: header and span tree'
            cand wait 'Wait until a play ends or pauses; exit with its status'
            cand logs 'Print a play''s captured stdout and stderr'
            cand cancel 'Cancel a play, its process group and its spawned children'
            cand restart 'Start a fresh play with the same input'
        }
        &'hero_logic;help;play;start'= {
        }
        &'hero_logic;help;play;list'= {
        }
        &'hero_logic;help;play;show'= {
        }
        &'hero_logic;help;play;wait'= {
        }
        &'hero_logic;help;play;logs'= {
        }
        &'hero_logic;help;play;cancel'= {
        }
        &'hero_logic;help;play;restart'= {
        }
        &'hero_logic;help;pending'= {
        }
        &'hero_logic;help;resume'= {
        }
        &'hero_logic;help;tui'= {
        }
        &'hero_logic;help;rpc'= {
        }
        &'hero_logic;help;store'= {
            cand check 'Say what is damaged in the data folder''s store and journal; exits 1 when something is. The server must be stopped'
            cand repair 'Keep what can be kept of a damaged store, start a fresh journal, and list each play that lost acknowledged data. The server must be stopped'
        }
        &'hero_logic;help;store;check'= {
        }
        &'hero_logic;help;store;repair'= {
        }
        &'hero_logic;help;sdk'= {
            cand path 'Print the path of hero_tracing.py, for editors and linters'
        }
        &'hero_logic;help;sdk;path'= {
        }
        &'hero_logic;help;completions'= {
        }
        &'hero_logic;help;help'= {
        }
    ]
    $completions[$command]
}
