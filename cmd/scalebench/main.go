// Command scalebench measures the heartbeat monitor at 10,000, 100,000 and
// 1,000,000 services (issue 9): how long services take to load, start-up
// time, idle CPU, RSS, latency at a steady open-loop beat rate across
// minute boundaries, /api/status and overview times, and how soon the down
// alert follows a deadline. Every figure is printed beside its target.
//
// It only talks to 127.0.0.1 and every stage is bounded in time.
//
// Subcommands:
//
//	scalebench gen --services N --out FILE    write a services.json for `heartbeat-monitor import`
//	                                          (--cron: Healthchecks' checks JSON for --from healthchecks)
//	scalebench bulk --services N --dir DIR     insert services straight into a migrated, stopped data dir
//	scalebench scale --services N [flags]     measure one scale, print its table (and --json);
//	                                          --cron: every service a cron job, pinged in Healthchecks' dialect
//	scalebench summary FILE.json...           print the targets of saved scales with PASS/MISS
//
// Run "scalebench SUBCOMMAND -h" for the flags of each.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"
)

func main() {
	if err := dispatch(os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(2)
		}
		fmt.Fprintln(os.Stderr, "scalebench:", err)
		os.Exit(1)
	}
}

// dispatch runs the subcommand named by args[0].
func dispatch(args []string) error {
	if len(args) == 0 {
		return errors.New("a subcommand is required: gen, bulk, scale or summary")
	}
	switch args[0] {
	case "gen":
		return genCmd(args[1:])
	case "bulk":
		return bulkCmd(args[1:])
	case "scale":
		return scaleCmd(args[1:])
	case "summary":
		return summaryCmd(args[1:])
	default:
		return fmt.Errorf("unknown subcommand %q (want gen, bulk, scale or summary)", args[0])
	}
}

// bulkCmd is `scalebench bulk --services N --dir DIR`.
func bulkCmd(args []string) error {
	fs := flag.NewFlagSet("scalebench bulk", flag.ContinueOnError)
	n := fs.Int("services", 10000, "number of services")
	dir := fs.String("dir", "", "a data dir the server has migrated (serve it once), not in use")
	cron := fs.Bool("cron", false, "cron jobs: each service with its pingId, a schedule, a zone and a grace")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := checkServices(*n); err != nil {
		return err
	}
	if *dir == "" {
		return errors.New("--dir is required")
	}
	t0 := time.Now()
	if err := bulkInsertServices(context.Background(), *dir, 0, *n, time.Now(), *cron); err != nil {
		return err
	}
	fmt.Printf("bulk %s: %.1f s\n", humanCount(*n), time.Since(t0).Seconds())
	return nil
}

// summaryCmd is `scalebench summary FILE...`.
func summaryCmd(args []string) error {
	if len(args) == 0 {
		return errors.New("summary: give the --json files of scale runs")
	}
	results, err := readResults(args)
	if err != nil {
		return err
	}
	printSummary(os.Stdout, results)
	return nil
}
