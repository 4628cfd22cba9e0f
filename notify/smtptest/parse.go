package smtptest

import (
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"strings"
)

// Decoded is a received message taken apart: its subject and the decoded text of each
// part by media type (text/plain, text/html).
type Decoded struct {
	Subject string
	Header  mail.Header
	Parts   map[string]string
}

// Decode parses m's MIME structure.
func (m Mail) Decode() (Decoded, error) {
	msg, err := mail.ReadMessage(strings.NewReader(m.Data))
	if err != nil {
		return Decoded{}, fmt.Errorf("smtptest: read message: %w", err)
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		return Decoded{}, fmt.Errorf("smtptest: subject: %w", err)
	}
	d := Decoded{Subject: subject, Header: msg.Header, Parts: map[string]string{}}
	return d, walk(msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Body, d.Parts)
}

func walk(contentType, encoding string, body io.Reader, into map[string]string) error {
	media, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return fmt.Errorf("smtptest: content type %q: %w", contentType, err)
	}
	if strings.HasPrefix(media, "multipart/") {
		r := multipart.NewReader(body, params["boundary"])
		for {
			p, err := r.NextRawPart()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return fmt.Errorf("smtptest: part: %w", err)
			}
			if err := walk(p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p, into); err != nil {
				return err
			}
		}
	}
	switch strings.ToLower(encoding) {
	case "quoted-printable":
		body = quotedprintable.NewReader(body)
	case "base64":
		body = base64.NewDecoder(base64.StdEncoding, body)
	}
	text, err := io.ReadAll(body)
	if err != nil {
		return fmt.Errorf("smtptest: decode %s: %w", media, err)
	}
	into[media] = string(text)
	return nil
}
