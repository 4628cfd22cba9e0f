package notify

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"net/mail"

	"github.com/pocketbase/pocketbase/tools/mailer"
)

// Email is a list of addresses, mailed through PocketBase's SMTP settings.
const Email Type = "email"

var emailKind = Kind{Name: Email, New: func() Settings { return new(emailSettings) }}

// emailSettings are an email channel's settings.
type emailSettings struct {
	To []string `json:"to"` // recipients, "ops@example.com" or "Ops <ops@example.com>"
}

// Validate implements Settings.
func (s *emailSettings) Validate() error {
	if len(s.To) == 0 {
		return errors.New(`needs "to" (a list of addresses)`)
	}
	for _, a := range s.To {
		if _, err := mail.ParseAddress(a); err != nil {
			return fmt.Errorf("%q is not an email address", a)
		}
	}
	return nil
}

// emailHTML renders the HTML body; html/template escapes everything a service sent.
var emailHTML = template.Must(template.New("email").Parse(`<!doctype html>
<html><body style="font-family:sans-serif;color:#101828">
<h2 style="margin:0 0 8px">{{.Title}}</h2>
{{if .Summary}}<p>{{.Summary}}</p>{{end}}
{{if .Facts}}<table cellpadding="4" style="border-collapse:collapse">
{{range .Facts}}<tr><th align="left" style="color:#475467">{{.Label}}</th><td>{{.Value}}</td></tr>
{{end}}</table>{{end}}
{{if .Link}}<p><a href="{{.Link}}">Open in Heartbeat Monitor</a></p>{{end}}
</body></html>`))

// BuildMail implements MailBuilder: a plain-text and an HTML body.
func (s *emailSettings) BuildMail(m Message, from mail.Address) (*mailer.Message, error) {
	to := make([]mail.Address, 0, len(s.To))
	for _, a := range s.To {
		addr, err := mail.ParseAddress(a)
		if err != nil {
			return nil, fmt.Errorf("notify: email recipient %q: %w", a, err)
		}
		to = append(to, *addr)
	}
	var body bytes.Buffer
	err := emailHTML.Execute(&body, struct {
		Title, Summary, Link string
		Facts                []Fact
	}{m.Title(), m.Summary(), m.Link(), m.Facts()})
	if err != nil {
		return nil, fmt.Errorf("notify: render email: %w", err)
	}
	return &mailer.Message{From: from, To: to, Subject: m.Title(), Text: m.Text(), HTML: body.String()}, nil
}
