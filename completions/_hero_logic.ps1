
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'hero_logic' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'hero_logic'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'hero_logic' {
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print objects as JSON (the RPC objects) instead of human text')
            [CompletionResult]::new('--start', '--start', [CompletionResultType]::ParameterName, 'Start the server in the background (alias of `hero_logic start`)')
            [CompletionResult]::new('--stop', '--stop', [CompletionResultType]::ParameterName, 'Stop the server (alias of `hero_logic stop`)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('start', 'start', [CompletionResultType]::ParameterValue, 'Start the server in the background; returns once it answers')
            [CompletionResult]::new('stop', 'stop', [CompletionResultType]::ParameterValue, 'Stop the server gracefully; running plays resume at its next start')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Say whether the server runs, where, and for how long')
            [CompletionResult]::new('server', 'server', [CompletionResultType]::ParameterValue, 'Run the server in the foreground')
            [CompletionResult]::new('info', 'info', [CompletionResultType]::ParameterValue, 'Check the service manifest against this binary')
            [CompletionResult]::new('workflow', 'workflow', [CompletionResultType]::ParameterValue, 'Save, list, show and lint workflows')
            [CompletionResult]::new('play', 'play', [CompletionResultType]::ParameterValue, 'Start, watch, list, cancel and restart plays')
            [CompletionResult]::new('pending', 'pending', [CompletionResultType]::ParameterValue, 'List the open pauses of a play')
            [CompletionResult]::new('resume', 'resume', [CompletionResultType]::ParameterValue, 'Answer a pause: `resume SID ID JSON` for scripts, `resume SID` to be asked')
            [CompletionResult]::new('tui', 'tui', [CompletionResultType]::ParameterValue, 'Open the dashboard')
            [CompletionResult]::new('rpc', 'rpc', [CompletionResultType]::ParameterValue, 'Call any RPC method and print its result as JSON')
            [CompletionResult]::new('store', 'store', [CompletionResultType]::ParameterValue, 'Check or repair the data folder offline (the server stopped)')
            [CompletionResult]::new('sdk', 'sdk', [CompletionResultType]::ParameterValue, 'Where the Python SDK lives')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print shell completions')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'hero_logic;start' {
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print objects as JSON (the RPC objects) instead of human text')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'hero_logic;stop' {
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print objects as JSON (the RPC objects) instead of human text')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'hero_logic;status' {
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print objects as JSON (the RPC objects) instead of human text')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'hero_logic;server' {
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print objects as JSON (the RPC objects) instead of human text')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'hero_logic;info' {
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print objects as JSON (the RPC objects) instead of human text')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('check', 'check', [CompletionResultType]::ParameterValue, 'Verify that service.toml and this binary agree; prints `0 issues`')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'hero_logic;info;check' {
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print objects as JSON (the RPC objects) instead of human text')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'hero_logic;info;help' {
            [CompletionResult]::new('check', 'check', [CompletionResultType]::ParameterValue, 'Verify that service.toml and this binary agree; prints `0 issues`')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'hero_logic;info;help;check' {
            break
        }
        'hero_logic;info;help;help' {
            break
        }
        'hero_logic;workflow' {
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print objects as JSON (the RPC objects) instead of human text')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('save', 'save', [CompletionResultType]::ParameterValue, 'Save a flow script as a new version of a workflow')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List the saved workflows')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Show a workflow: inputs, outputs and versions')
            [CompletionResult]::new('lint', 'lint', [CompletionResultType]::ParameterValue, 'Flag non-determinism passed into step arguments, without a server')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'hero_logic;workflow;save' {
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'The workflow''s name [default: the file''s stem]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print objects as JSON (the RPC objects) instead of human text')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'hero_logic;workflow;list' {
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print objects as JSON (the RPC objects) instead of human text')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'hero_logic;workflow;show' {
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print objects as JSON (the RPC objects) instead of human text')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'hero_logic;workflow;lint' {
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print objects as JSON (the RPC objects) instead of human text')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'hero_logic;workflow;help' {
            [CompletionResult]::new('save', 'save', [CompletionResultType]::ParameterValue, 'Save a flow script as a new version of a workflow')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List the saved workflows')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Show a workflow: inputs, outputs and versions')
            [CompletionResult]::new('lint', 'lint', [CompletionResultType]::ParameterValue, 'Flag non-determinism passed into step arguments, without a server')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'hero_logic;workflow;help;save' {
            break
        }
        'hero_logic;workflow;help;list' {
            break
        }
        'hero_logic;workflow;help;show' {
            break
        }
        'hero_logic;workflow;help;lint' {
            break
        }
        'hero_logic;workflow;help;help' {
            break
        }
        'hero_logic;play' {
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print objects as JSON (the RPC objects) instead of human text')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('start', 'start', [CompletionResultType]::ParameterValue, 'Start a play of a workflow, or of a FILE.py (saved first)')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List plays, newest first')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Show a play: header and span tree')
            [CompletionResult]::new('wait', 'wait', [CompletionResultType]::ParameterValue, 'Wait until a play ends or pauses; exit with its status')
            [CompletionResult]::new('logs', 'logs', [CompletionResultType]::ParameterValue, 'Print a play''s captured stdout and stderr')
            [CompletionResult]::new('cancel', 'cancel', [CompletionResultType]::ParameterValue, 'Cancel a play, its process group and its spawned children')
            [CompletionResult]::new('restart', 'restart', [CompletionResultType]::ParameterValue, 'Start a fresh play with the same input')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'hero_logic;play;start' {
            [CompletionResult]::new('--input', '--input', [CompletionResultType]::ParameterName, 'The input of `main`, as a JSON object')
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'A name for the play [default: the workflow''s]')
            [CompletionResult]::new('--prefill', '--prefill', [CompletionResultType]::ParameterName, 'Answer pauses named NAME (a glob) with JSON, without stopping')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Kill a run that takes longer than this many seconds (`timed_out`)')
            [CompletionResult]::new('--wait', '--wait', [CompletionResultType]::ParameterName, 'Wait until the play ends or pauses; exit with its status')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print objects as JSON (the RPC objects) instead of human text')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'hero_logic;play;list' {
            [CompletionResult]::new('--status', '--status', [CompletionResultType]::ParameterName, 'Only plays with this status')
            [CompletionResult]::new('--workflow', '--workflow', [CompletionResultType]::ParameterName, 'Only plays of this workflow (name or sid)')
            [CompletionResult]::new('--limit', '--limit', [CompletionResultType]::ParameterName, 'At most this many plays')
            [CompletionResult]::new('--no-children', '--no-children', [CompletionResultType]::ParameterName, 'Hide child plays spawned by other plays')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print objects as JSON (the RPC objects) instead of human text')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'hero_logic;play;show' {
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print objects as JSON (the RPC objects) instead of human text')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'hero_logic;play;wait' {
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Give up after this many seconds (exit 124)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print objects as JSON (the RPC objects) instead of human text')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'hero_logic;play;logs' {
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'Keep printing new lines until the play ends or pauses')
            [CompletionResult]::new('--follow', '--follow', [CompletionResultType]::ParameterName, 'Keep printing new lines until the play ends or pauses')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print objects as JSON (the RPC objects) instead of human text')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'hero_logic;play;cancel' {
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Do not ask for confirmation')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print objects as JSON (the RPC objects) instead of human text')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'hero_logic;play;restart' {
            [CompletionResult]::new('--latest', '--latest', [CompletionResultType]::ParameterName, 'Run the workflow''s latest version instead of the pinned one')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print objects as JSON (the RPC objects) instead of human text')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'hero_logic;play;help' {
            [CompletionResult]::new('start', 'start', [CompletionResultType]::ParameterValue, 'Start a play of a workflow, or of a FILE.py (saved first)')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List plays, newest first')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Show a play: header and span tree')
            [CompletionResult]::new('wait', 'wait', [CompletionResultType]::ParameterValue, 'Wait until a play ends or pauses; exit with its status')
            [CompletionResult]::new('logs', 'logs', [CompletionResultType]::ParameterValue, 'Print a play''s captured stdout and stderr')
            [CompletionResult]::new('cancel', 'cancel', [CompletionResultType]::ParameterValue, 'Cancel a play, its process group and its spawned children')
            [CompletionResult]::new('restart', 'restart', [CompletionResultType]::ParameterValue, 'Start a fresh play with the same input')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'hero_logic;play;help;start' {
            break
        }
        'hero_logic;play;help;list' {
            break
        }
        'hero_logic;play;help;show' {
            break
        }
        'hero_logic;play;help;wait' {
            break
        }
        'hero_logic;play;help;logs' {
            break
        }
        'hero_logic;play;help;cancel' {
            break
        }
        'hero_logic;play;help;restart' {
            break
        }
        'hero_logic;play;help;help' {
            break
        }
        'hero_logic;pending' {
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print objects as JSON (the RPC objects) instead of human text')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'hero_logic;resume' {
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print objects as JSON (the RPC objects) instead of human text')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'hero_logic;tui' {
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print objects as JSON (the RPC objects) instead of human text')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'hero_logic;rpc' {
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print objects as JSON (the RPC objects) instead of human text')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'hero_logic;store' {
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print objects as JSON (the RPC objects) instead of human text')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('check', 'check', [CompletionResultType]::ParameterValue, 'Say what is damaged in the data folder''s store and journal; exits 1 when something is. The server must be stopped')
            [CompletionResult]::new('repair', 'repair', [CompletionResultType]::ParameterValue, 'Keep what can be kept of a damaged store, start a fresh journal, and list each play that lost acknowledged data. The server must be stopped')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'hero_logic;store;check' {
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print objects as JSON (the RPC objects) instead of human text')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'hero_logic;store;repair' {
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print objects as JSON (the RPC objects) instead of human text')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'hero_logic;store;help' {
            [CompletionResult]::new('check', 'check', [CompletionResultType]::ParameterValue, 'Say what is damaged in the data folder''s store and journal; exits 1 when something is. The server must be stopped')
            [CompletionResult]::new('repair', 'repair', [CompletionResultType]::ParameterValue, 'Keep what can be kept of a damaged store, start a fresh journal, and list each play that lost acknowledged data. The server must be stopped')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'hero_logic;store;help;check' {
            break
        }
        'hero_logic;store;help;repair' {
            break
        }
        'hero_logic;store;help;help' {
            break
        }
        'hero_logic;sdk' {
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print objects as JSON (the RPC objects) instead of human text')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('path', 'path', [CompletionResultType]::ParameterValue, 'Print the path of hero_tracing.py, for editors and linters')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'hero_logic;sdk;path' {
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print objects as JSON (the RPC objects) instead of human text')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'hero_logic;sdk;help' {
            [CompletionResult]::new('path', 'path', [CompletionResultType]::ParameterValue, 'Print the path of hero_tracing.py, for editors and linters')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'hero_logic;sdk;help;path' {
            break
        }
        'hero_logic;sdk;help;help' {
            break
        }
        'hero_logic;completions' {
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print objects as JSON (the RPC objects) instead of human text')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'hero_logic;help' {
            [CompletionResult]::new('start', 'start', [CompletionResultType]::ParameterValue, 'Start the server in the background; returns once it answers')
            [CompletionResult]::new('stop', 'stop', [CompletionResultType]::ParameterValue, 'Stop the server gracefully; running plays resume at its next start')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Say whether the server runs, where, and for how long')
            [CompletionResult]::new('server', 'server', [CompletionResultType]::ParameterValue, 'Run the server in the foreground')
            [CompletionResult]::new('info', 'info', [CompletionResultType]::ParameterValue, 'Check the service manifest against this binary')
            [CompletionResult]::new('workflow', 'workflow', [CompletionResultType]::ParameterValue, 'Save, list, show and lint workflows')
            [CompletionResult]::new('play', 'play', [CompletionResultType]::ParameterValue, 'Start, watch, list, cancel and restart plays')
            [CompletionResult]::new('pending', 'pending', [CompletionResultType]::ParameterValue, 'List the open pauses of a play')
            [CompletionResult]::new('resume', 'resume', [CompletionResultType]::ParameterValue, 'Answer a pause: `resume SID ID JSON` for scripts, `resume SID` to be asked')
            [CompletionResult]::new('tui', 'tui', [CompletionResultType]::ParameterValue, 'Open the dashboard')
            [CompletionResult]::new('rpc', 'rpc', [CompletionResultType]::ParameterValue, 'Call any RPC method and print its result as JSON')
            [CompletionResult]::new('store', 'store', [CompletionResultType]::ParameterValue, 'Check or repair the data folder offline (the server stopped)')
            [CompletionResult]::new('sdk', 'sdk', [CompletionResultType]::ParameterValue, 'Where the Python SDK lives')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print shell completions')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'hero_logic;help;start' {
            break
        }
        'hero_logic;help;stop' {
            break
        }
        'hero_logic;help;status' {
            break
        }
        'hero_logic;help;server' {
            break
        }
        'hero_logic;help;info' {
            [CompletionResult]::new('check', 'check', [CompletionResultType]::ParameterValue, 'Verify that service.toml and this binary agree; prints `0 issues`')
            break
        }
        'hero_logic;help;info;check' {
            break
        }
        'hero_logic;help;workflow' {
            [CompletionResult]::new('save', 'save', [CompletionResultType]::ParameterValue, 'Save a flow script as a new version of a workflow')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List the saved workflows')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Show a workflow: inputs, outputs and versions')
            [CompletionResult]::new('lint', 'lint', [CompletionResultType]::ParameterValue, 'Flag non-determinism passed into step arguments, without a server')
            break
        }
        'hero_logic;help;workflow;save' {
            break
        }
        'hero_logic;help;workflow;list' {
            break
        }
        'hero_logic;help;workflow;show' {
            break
        }
        'hero_logic;help;workflow;lint' {
            break
        }
        'hero_logic;help;play' {
            [CompletionResult]::new('start', 'start', [CompletionResultType]::ParameterValue, 'Start a play of a workflow, or of a FILE.py (saved first)')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List plays, newest first')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Show a play: header and span tree')
            [CompletionResult]::new('wait', 'wait', [CompletionResultType]::ParameterValue, 'Wait until a play ends or pauses; exit with its status')
            [CompletionResult]::new('logs', 'logs', [CompletionResultType]::ParameterValue, 'Print a play''s captured stdout and stderr')
            [CompletionResult]::new('cancel', 'cancel', [CompletionResultType]::ParameterValue, 'Cancel a play, its process group and its spawned children')
            [CompletionResult]::new('restart', 'restart', [CompletionResultType]::ParameterValue, 'Start a fresh play with the same input')
            break
        }
        'hero_logic;help;play;start' {
            break
        }
        'hero_logic;help;play;list' {
            break
        }
        'hero_logic;help;play;show' {
            break
        }
        'hero_logic;help;play;wait' {
            break
        }
        'hero_logic;help;play;logs' {
            break
        }
        'hero_logic;help;play;cancel' {
            break
        }
        'hero_logic;help;play;restart' {
            break
        }
        'hero_logic;help;pending' {
            break
        }
        'hero_logic;help;resume' {
            break
        }
        'hero_logic;help;tui' {
            break
        }
        'hero_logic;help;rpc' {
            break
        }
        'hero_logic;help;store' {
            [CompletionResult]::new('check', 'check', [CompletionResultType]::ParameterValue, 'Say what is damaged in the data folder''s store and journal; exits 1 when something is. The server must be stopped')
            [CompletionResult]::new('repair', 'repair', [CompletionResultType]::ParameterValue, 'Keep what can be kept of a damaged store, start a fresh journal, and list each play that lost acknowledged data. The server must be stopped')
            break
        }
        'hero_logic;help;store;check' {
            break
        }
        'hero_logic;help;store;repair' {
            break
        }
        'hero_logic;help;sdk' {
            [CompletionResult]::new('path', 'path', [CompletionResultType]::ParameterValue, 'Print the path of hero_tracing.py, for editors and linters')
            break
        }
        'hero_logic;help;sdk;path' {
            break
        }
        'hero_logic;help;completions' {
            break
        }
        'hero_logic;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
