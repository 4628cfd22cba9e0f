package notify

import (
	"bytes"
	"fmt"
	"html/template"
	"net/mail"

	"github.com/pocketbase/pocketbase/tools/mailer"
)

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

// BuildEmail makes the email that delivers m: a plain-text and an HTML body.
func BuildEmail(c Config, m Message, from mail.Address) (*mailer.Message, error) {
	to := make([]mail.Address, 0, len(c.To))
	for _, a := range c.To {
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
