package hooks

import (
	"errors"
	"fmt"
	"slices"

	"github.com/pocketbase/pocketbase/core"
)

// syncChannelTypes makes the admin UI's type dropdown of channels list types, the
// notify registry's names, in its order. The migration that made the collection listed
// the types of its day; this runs at every start, so a type added to the registry is
// offered without a migration. It saves only when the list differs. Channels of a type
// no longer registered keep their record; loading them fails with "unknown channel
// type", visibly, in their notifications.
func syncChannelTypes(app core.App, types []string) error {
	col, err := app.FindCollectionByNameOrId("channels")
	if err != nil {
		return fmt.Errorf("hooks: channel types: %w", err)
	}
	f, ok := col.Fields.GetByName("type").(*core.SelectField)
	if !ok {
		return errors.New("hooks: channel types: channels.type is not a select field")
	}
	if slices.Equal(f.Values, types) {
		return nil
	}
	f.Values = slices.Clone(types)
	if err := app.Save(col); err != nil {
		return fmt.Errorf("hooks: channel types: %w", err)
	}
	app.Logger().Info("channel types updated", "types", types)
	return nil
}
