package api

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/heartbeat-monitor/heartbeat-monitor/ingest"
	"github.com/heartbeat-monitor/heartbeat-monitor/notify"
	"github.com/heartbeat-monitor/heartbeat-monitor/store"
	"github.com/pocketbase/pocketbase/core"
)

// testReply is the answer of POST /api/channels/{id}/test.
type testReply struct {
	Success bool   `json:"success"`
	Channel string `json:"channel"`
	Type    string `json:"type"`
	Message string `json:"message"`
	Error   string `json:"error,omitempty"`
}

// ChannelTest is POST /api/channels/{id}/test (superusers): it sends a test message
// through the channel at once, records it, and answers with the outcome.
func (a *API) ChannelTest(e *core.RequestEvent) error {
	row, err := store.FindChannel(e.App.DB(), e.Request.PathValue("id"))
	if errors.Is(err, sql.ErrNoRows) {
		return writeJSON(e, http.StatusNotFound, testReply{Message: "Unknown channel"})
	}
	if err != nil {
		return e.InternalServerError("", err)
	}
	reply := testReply{Channel: row.Name, Type: row.Type}
	row.Disabled = false // a test of a disabled channel is how one checks it before enabling it
	ch, err := a.Alerts.Channel(row)
	if err != nil {
		reply.Message, reply.Error = "The channel's settings are not valid", strings.TrimPrefix(err.Error(), "notify: ")
		return writeJSON(e, http.StatusBadRequest, reply)
	}
	now := a.Now().UTC()
	msg := notify.Message{Event: notify.EventTest, At: now, URL: strings.TrimRight(e.App.Settings().Meta.AppURL, "/")}
	ctx, cancel := context.WithTimeout(e.Request.Context(), 20*time.Second)
	defer cancel()
	sendErr := a.Alerts.Send(ctx, ch, msg)
	status, sentAt := notify.StatusSent, store.DBDate(now)
	if sendErr != nil {
		status, sentAt = notify.StatusFailed, ""
	}
	body, err := json.Marshal(msg)
	if err != nil {
		return e.InternalServerError("", err)
	}
	errText := ""
	if sendErr != nil {
		errText = sendErr.Error()
	}
	err = store.InsertNotifications(e.App.NonconcurrentDB(), [][]any{{ingest.NewID(now), ch.ID, "", "", "",
		notify.EventTest, status, 1, errText, sentAt, "", string(body), store.DBDate(now), store.DBDate(now)}})
	if err != nil {
		return e.InternalServerError("", err)
	}
	if sendErr != nil {
		reply.Message, reply.Error = "The test notification was not delivered", errText
		return writeJSON(e, http.StatusBadGateway, reply)
	}
	reply.Success, reply.Message = true, "Test notification sent"
	return writeJSON(e, http.StatusOK, reply)
}
