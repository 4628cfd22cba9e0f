package cli

import (
	"bufio"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/pocketbase/pocketbase/core"
	"github.com/spf13/cobra"
)

// errDryRun rolls back the transaction of a dry run after everything was planned in it.
var errDryRun = errors.New("import: dry run")

func newImportCommand(app core.App) *cobra.Command {
	var keysPath, from string
	var dryRun bool
	c := &cobra.Command{
		Use:   "import FILE [--from worker|healthchecks] [--keys API_KEYS.json] [--dryRun]",
		Short: "Create or update services and keys from the original worker's services.json and API_KEYS, or from Healthchecks' checks",
		Long: `Create or update services from the original Cloudflare worker's services.json, in its
early form ({"services":[{id,name,enabled,stalenessThreshold,apiKey}]}) or its later
form with "groups" (a group's stalenessThreshold applies to members that set none), and
api_keys records from its API_KEYS JSON object (keys by service id, by group id, or "*"
for every service). enabled:false becomes paused.

Import is idempotent: a second run changes nothing. It never deletes. Every field it
cannot carry over (notifications, uptime threshold sets, auth.required:false, unknown
fields) is listed as a note. Everything is saved in one transaction, or nothing is.
A server running on the same --dir picks up imported services and keys within 10 seconds.

` + healthchecksImportHelp,
		Example: `  heartbeat-monitor import services.json --keys api_keys.json --dir /var/lib/heartbeat-monitor --dryRun
  heartbeat-monitor import --from healthchecks checks.json --dir /var/lib/heartbeat-monitor --dryRun`,
		Args:         cobra.ExactArgs(1),
		SilenceUsage: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			switch from {
			case "", "worker":
			case "healthchecks":
				if keysPath != "" {
					return errors.New("import: --keys is for the original worker's API_KEYS; Healthchecks' checks bring their ping URLs")
				}
				f, err := os.Open(args[0])
				if err != nil {
					return fmt.Errorf("import: %w", err)
				}
				defer f.Close()
				return importHealthchecks(app, bufio.NewReaderSize(f, 1<<20), dryRun, cmd.OutOrStdout())
			default:
				return fmt.Errorf("import: --from %q: want worker (the original worker's services.json) or healthchecks", from)
			}
			services, err := os.Open(args[0])
			if err != nil {
				return fmt.Errorf("import: %w", err)
			}
			defer services.Close()
			var keys []byte
			switch keysPath {
			case "":
			case "-":
				keys, err = io.ReadAll(cmd.InOrStdin())
			default:
				keys, err = os.ReadFile(keysPath)
			}
			if err != nil {
				return fmt.Errorf("import: keys: %w", err)
			}
			plan, err := planImportFrom(bufio.NewReaderSize(services, 1<<20), keys)
			if err != nil {
				return err
			}
			if err := services.Close(); err != nil {
				return fmt.Errorf("import: %w", err)
			}
			// serve applies the migrations itself; import may be the first command run.
			if err := app.RunAllMigrations(); err != nil {
				return fmt.Errorf("import: migrate: %w", err)
			}
			_, err = applyImport(app, plan, dryRun, cmd.OutOrStdout())
			return err
		},
	}
	c.Flags().StringVar(&keysPath, "keys", "", `API_KEYS JSON file, {"<serviceId>|<groupId>|*":"<key>"} ("-" reads stdin)`)
	c.Flags().BoolVar(&dryRun, "dryRun", false, "print what would change and save nothing")
	c.Flags().StringVar(&from, "from", "worker", "what FILE is: worker (the original worker's services.json) or healthchecks (GET /api/v3/checks/)")
	return c
}

// importCounts counts what an import did (or, in a dry run, would do).
type importCounts struct {
	Created, Updated, Unchanged, KeysCreated, KeysUpdated, KeysUnchanged int
}

// applyImport makes plan true in app in one transaction and prints every change and
// note to out. A dry run does the same work and rolls it back. Services are written in
// bulk (see import_bulk.go); the few api keys go through record saves.
func applyImport(app core.App, plan importPlan, dryRun bool, out io.Writer) (importCounts, error) {
	var n importCounts
	bw := bufio.NewWriterSize(out, 1<<16)
	err := app.RunInTransaction(func(tx core.App) error {
		n = importCounts{}
		recordIDs, err := importServices(tx, plan, bw, &n)
		if err != nil {
			return err
		}
		keys, err := tx.FindCollectionByNameOrId("api_keys")
		if err != nil {
			return fmt.Errorf("import: %w", err)
		}
		for _, spec := range plan.Keys {
			created, changes, err := importKey(tx, keys, spec, recordIDs)
			if err != nil {
				return err
			}
			switch {
			case created:
				n.KeysCreated++
				fmt.Fprintf(bw, "create key %q: %s\n", spec.Name, strings.Join(changes, ", "))
			case len(changes) > 0:
				n.KeysUpdated++
				fmt.Fprintf(bw, "update key %q: %s\n", spec.Name, strings.Join(changes, ", "))
			default:
				n.KeysUnchanged++
				fmt.Fprintf(bw, "unchanged key %q\n", spec.Name)
			}
		}
		if dryRun {
			return errDryRun
		}
		return nil
	})
	if err != nil && !errors.Is(err, errDryRun) {
		return n, errors.Join(err, bw.Flush())
	}
	for _, w := range plan.Warnings {
		fmt.Fprintf(bw, "warning: %s\n", w)
	}
	for _, note := range plan.Notes {
		fmt.Fprintf(bw, "note: %s\n", note)
	}
	fmt.Fprintf(bw, "services: %d created, %d updated, %d unchanged; keys: %d created, %d updated, %d unchanged; %d notes\n",
		n.Created, n.Updated, n.Unchanged, n.KeysCreated, n.KeysUpdated, n.KeysUnchanged, len(plan.Notes))
	switch {
	case dryRun:
		fmt.Fprintln(bw, "dry run: nothing was saved")
	case n.Created+n.Updated+n.KeysCreated+n.KeysUpdated > 0:
		fmt.Fprintln(bw, "saved; a server running on this data directory picks up the changes within 10 seconds")
	}
	if err := bw.Flush(); err != nil {
		return n, fmt.Errorf("import: print: %w", err)
	}
	return n, nil
}

// importServices creates or updates the services of plan in tx, a chunk at a time, and
// prints a line for each. It returns the record ids of the services plan's keys cover.
func importServices(tx core.App, plan importPlan, out io.Writer, n *importCounts) (map[string]string, error) {
	recordIDs := map[string]string{} // serviceId -> record id, of the services keys name
	for _, k := range plan.Keys {
		for _, sid := range k.Services {
			recordIDs[sid] = ""
		}
	}
	w, err := newServiceWriter(tx, time.Now())
	if err != nil {
		return nil, err
	}
	for start := 0; start < len(plan.Services); start += lookupChunk {
		chunk := plan.Services[start:min(start+lookupChunk, len(plan.Services))]
		stored, err := w.lookup(chunk)
		if err != nil {
			return nil, errors.Join(err, w.close())
		}
		for _, spec := range chunk {
			have := stored[spec.ServiceID]
			id, changes, err := w.write(spec, have)
			if err != nil {
				return nil, errors.Join(err, w.close())
			}
			if _, ok := recordIDs[spec.ServiceID]; ok {
				recordIDs[spec.ServiceID] = id
			}
			switch {
			case have == nil:
				n.Created++
				fmt.Fprintf(out, "create service %s: %s\n", spec.ServiceID, strings.Join(changes, ", "))
			case len(changes) > 0:
				n.Updated++
				fmt.Fprintf(out, "update service %s: %s\n", spec.ServiceID, strings.Join(changes, ", "))
			default:
				n.Unchanged++
				fmt.Fprintf(out, "unchanged service %s\n", spec.ServiceID)
			}
		}
	}
	return recordIDs, w.close()
}

// importKey creates or updates the api_keys record of spec, found by its name. Scopes
// and disabled are set on creation only: an admin's later choice survives a re-import.
func importKey(tx core.App, col *core.Collection, spec keySpec, recordIDs map[string]string) (created bool, changes []string, err error) {
	rec, err := tx.FindFirstRecordByData(col, "name", spec.Name)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		rec, created = core.NewRecord(col), true
		rec.Set("name", spec.Name)
		rec.Set("scopes", []string{"heartbeat"})
		changes = append(changes, "scopes heartbeat")
	case err != nil:
		return false, nil, fmt.Errorf("import: find key %q: %w", spec.Name, err)
	}
	if rec.GetString("key") != spec.Key {
		changes = append(changes, "key set from API_KEYS") // a key is never printed
		rec.Set("key", spec.Key)
	}
	want := make([]string, 0, len(spec.Services))
	for _, sid := range spec.Services {
		want = append(want, recordIDs[sid])
	}
	have := rec.GetStringSlice("services")
	if !sameSet(have, want) || created {
		covers := "every service"
		if len(spec.Services) > 0 {
			covers = strings.Join(spec.Services, ", ")
		}
		changes = append(changes, "covers "+covers)
		rec.Set("services", want)
	}
	if created || len(changes) > 0 {
		if err := tx.Save(rec); err != nil {
			return false, nil, fmt.Errorf("import: save key %q: %w", spec.Name, err)
		}
	}
	return created, changes, nil
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(slices.Compact(a), slices.Compact(b))
}
