// Package cli holds the binary's own commands besides PocketBase's serve and superuser:
// ping and run, which send heartbeats from the machines being monitored, and import,
// which loads the original worker's services.json and API_KEYS into the database.
package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/pocketbase/pocketbase"
	"github.com/spf13/cobra"
)

// Exit codes of ping and run's own failures (run otherwise exits with its command's code).
// The client scripts in clients/ use the same ones.
const (
	exitOK     = 0
	exitFailed = 1 // the beat was not accepted, or the server could not be reached
	exitUsage  = 2 // a wrong command line
)

// exitError ends a client command with a code; its message is printed on one line.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

// Register adds ping, run, schedule and import to app's command line.
//
// ping, run and schedule are client commands: they run on the monitored machines (or
// anywhere, for schedule), where there is no data directory and the binary's own
// directory may be read-only. PocketBase's Start opens (and creates) a data directory
// before running any command, and takes SIGINT and SIGTERM for itself, which run must
// forward to its child. So when the command line names one of them, Register runs it
// at once and exits the process with its code;
// otherwise it returns and the commands are listed in --help like any other.
func Register(app *pocketbase.PocketBase) {
	env := os.LookupEnv
	client := []*cobra.Command{newPingCommand(env), newRunCommand(env), newScheduleCommand(time.Now)}
	client = append(client, newRestoreCommand(os.Getenv)) // restore: before PocketBase creates --dir
	app.RootCmd.AddCommand(client...)
	app.RootCmd.AddCommand(newImportCommand(app))

	args := os.Args[1:]
	if c, _, err := app.RootCmd.Find(args); err == nil && slices.Contains(client, c) {
		os.Exit(execute(app.RootCmd, args, os.Stderr))
	}
}

// execute runs a client command of root and returns the process exit code. Errors are
// printed as one line on stderr, prefixed with the command's path.
func execute(root *cobra.Command, args []string, stderr io.Writer) int {
	root.SetArgs(args)
	root.SetErr(stderr) // PocketBase silences the root's stderr; the client commands need it
	c, err := root.ExecuteC()
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.msg != "" {
			fmt.Fprintf(stderr, "%s: %s\n", c.CommandPath(), ee.msg)
		}
		return ee.code
	}
	// Anything else comes from cobra's flag and argument parsing.
	fmt.Fprintf(stderr, "%s: %v (see --help)\n", c.CommandPath(), err)
	return exitUsage
}
