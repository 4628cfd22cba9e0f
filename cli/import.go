package cli

import (
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/pocketbase/pocketbase/core"
	"github.com/spf13/cobra"
)

// errDryRun rolls back the transaction of a dry run after everything was planned in it.
var errDryRun = errors.New("import: dry run")

func newImportCommand(app core.App) *cobra.Command {
	var keysPath string
	var dryRun bool
	c := &cobra.Command{
		Use:   "import services.json [--keys API_KEYS.json] [--dryRun]",
		Short: "Create or update services and keys from the original worker's services.json and API_KEYS",
		Long: `Create or update services from the original Cloudflare worker's services.json, in its
early form ({"services":[{id,name,enabled,stalenessThreshold,apiKey}]}) or its later
form with "groups" (a group's stalenessThreshold applies to members that set none), and
api_keys records from its API_KEYS JSON object (keys by service id, by group id, or "*"
for every service). enabled:false becomes paused.

Import is idempotent: a second run changes nothing. It never deletes. Every field it
cannot carry over (notifications, uptime threshold sets, auth.required:false, unknown
fields) is listed as a note. Everything is saved in one transaction, or nothing is.
A server running on the same --dir picks up imported services and keys within 10 seconds.`,
		Example:      `  heartbeat-monitor import services.json --keys api_keys.json --dir /var/lib/heartbeat-monitor --dryRun`,
		Args:         cobra.ExactArgs(1),
		SilenceUsage: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			services, err := os.ReadFile(args[0])
			if err != nil {
				return fmt.Errorf("import: %w", err)
			}
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
			plan, err := planImport(services, keys)
			if err != nil {
				return err
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
	return c
}

// importCounts counts what an import did (or, in a dry run, would do).
type importCounts struct {
	Created, Updated, Unchanged, KeysCreated, KeysUpdated, KeysUnchanged int
}

// applyImport makes plan true in app in one transaction and prints every change and
// note to out. A dry run does the same work and rolls it back.
func applyImport(app core.App, plan importPlan, dryRun bool, out io.Writer) (importCounts, error) {
	var n importCounts
	err := app.RunInTransaction(func(tx core.App) error {
		n = importCounts{}
		services, err := tx.FindCollectionByNameOrId("services")
		if err != nil {
			return fmt.Errorf("import: %w", err)
		}
		recordIDs := map[string]string{} // serviceId -> record id
		for _, spec := range plan.Services {
			id, created, changes, err := importService(tx, services, spec)
			if err != nil {
				return err
			}
			recordIDs[spec.ServiceID] = id
			switch {
			case created:
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
				fmt.Fprintf(out, "create key %q: %s\n", spec.Name, strings.Join(changes, ", "))
			case len(changes) > 0:
				n.KeysUpdated++
				fmt.Fprintf(out, "update key %q: %s\n", spec.Name, strings.Join(changes, ", "))
			default:
				n.KeysUnchanged++
				fmt.Fprintf(out, "unchanged key %q\n", spec.Name)
			}
		}
		if dryRun {
			return errDryRun
		}
		return nil
	})
	if err != nil && !errors.Is(err, errDryRun) {
		return n, err
	}
	for _, w := range plan.Warnings {
		fmt.Fprintf(out, "warning: %s\n", w)
	}
	for _, note := range plan.Notes {
		fmt.Fprintf(out, "note: %s\n", note)
	}
	fmt.Fprintf(out, "services: %d created, %d updated, %d unchanged; keys: %d created, %d updated, %d unchanged; %d notes\n",
		n.Created, n.Updated, n.Unchanged, n.KeysCreated, n.KeysUpdated, n.KeysUnchanged, len(plan.Notes))
	switch {
	case dryRun:
		fmt.Fprintln(out, "dry run: nothing was saved")
	case n.Created+n.Updated+n.KeysCreated+n.KeysUpdated > 0:
		fmt.Fprintln(out, "saved; a server running on this data directory picks up the changes within 10 seconds")
	}
	return n, nil
}

// importService creates or updates the service of spec and describes what changed.
func importService(tx core.App, col *core.Collection, spec serviceSpec) (id string, created bool, changes []string, err error) {
	rec, err := tx.FindFirstRecordByData(col, "serviceId", spec.ServiceID)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		rec, created = core.NewRecord(col), true
		rec.Set("serviceId", spec.ServiceID)
	case err != nil:
		return "", false, nil, fmt.Errorf("import: find service %s: %w", spec.ServiceID, err)
	}
	// change records a field's new value: "field new" on creation, "field old -> new" after.
	change := func(field string, have, want any) {
		if created {
			changes = append(changes, fmt.Sprintf("%s %v", field, want))
		} else {
			changes = append(changes, fmt.Sprintf("%s %v -> %v", field, have, want))
		}
	}
	setString := func(field, want string) {
		if have := rec.GetString(field); have != want {
			change(field, fmt.Sprintf("%q", have), fmt.Sprintf("%q", want))
			rec.Set(field, want)
		}
	}
	if spec.Name != "" {
		setString("name", spec.Name)
	}
	if spec.Description != nil {
		setString("description", *spec.Description)
	}
	if spec.Group != nil {
		setString("group", *spec.Group)
	}
	if spec.Threshold > 0 {
		if have := rec.GetInt("stalenessThreshold"); have != spec.Threshold {
			change("stalenessThreshold", have, spec.Threshold)
			rec.Set("stalenessThreshold", spec.Threshold)
		}
	}
	if spec.Paused != nil {
		if have := rec.GetBool("paused"); have != *spec.Paused || created {
			change("paused", have, *spec.Paused)
			rec.Set("paused", *spec.Paused)
		}
	}
	if spec.APIKey != "" && rec.GetString("apiKey") != spec.APIKey {
		changes = append(changes, "apiKey set from services.json") // a key is never printed
		rec.Set("apiKey", spec.APIKey)
	}
	if created && len(changes) == 0 {
		changes = append(changes, "defaults")
	}
	if created || len(changes) > 0 {
		if err := tx.Save(rec); err != nil {
			return "", false, nil, fmt.Errorf("import: save service %s: %w", spec.ServiceID, err)
		}
	}
	return rec.Id, created, changes, nil
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
