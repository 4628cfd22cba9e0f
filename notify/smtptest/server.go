// Package smtptest is a minimal SMTP server for tests: it accepts every message sent to
// it on 127.0.0.1 and hands it over on a channel. It speaks just enough of RFC 5321 for
// Go's net/smtp client (no TLS, no AUTH).
package smtptest

import (
	"io"
	"net"
	"net/textproto"
	"strings"
	"sync"
)

// Mail is one message as the server received it.
type Mail struct {
	From string
	To   []string
	Data string // headers and body, dot-stuffing removed, LF line ends
}

// Server is a running test SMTP server.
type Server struct {
	Host string
	Port int
	Mail chan Mail

	ln net.Listener
	wg sync.WaitGroup
}

// Start listens on a free loopback port.
func Start() (*Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().(*net.TCPAddr)
	s := &Server{Host: "127.0.0.1", Port: addr.Port, Mail: make(chan Mail, 16), ln: ln}
	s.wg.Add(1)
	go s.accept()
	return s, nil
}

// Close stops the server and waits for its connections to end.
func (s *Server) Close() {
	s.ln.Close()
	s.wg.Wait()
}

func (s *Server) accept() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer c.Close()
			s.serve(textproto.NewConn(c))
		}()
	}
}

func (s *Server) serve(c *textproto.Conn) {
	reply := func(line string) bool { return c.PrintfLine("%s", line) == nil }
	if !reply("220 127.0.0.1 smtptest") {
		return
	}
	var m Mail
	for {
		line, err := c.ReadLine()
		if err != nil {
			return
		}
		verb := strings.ToUpper(strings.SplitN(line, " ", 2)[0])
		arg := strings.TrimSpace(strings.TrimPrefix(line, line[:len(verb)]))
		ok := true
		switch verb {
		case "EHLO":
			ok = reply("250-127.0.0.1") && reply("250 8BITMIME")
		case "HELO", "NOOP":
			ok = reply("250 ok")
		case "RSET":
			m = Mail{}
			ok = reply("250 ok")
		case "MAIL":
			m.From = address(arg)
			ok = reply("250 ok")
		case "RCPT":
			m.To = append(m.To, address(arg))
			ok = reply("250 ok")
		case "DATA":
			if !reply("354 go ahead") {
				return
			}
			data, err := io.ReadAll(c.DotReader())
			if err != nil {
				return
			}
			m.Data = string(data)
			s.Mail <- m
			m = Mail{}
			ok = reply("250 queued")
		case "QUIT":
			reply("221 bye")
			return
		default:
			ok = reply("502 not implemented")
		}
		if !ok {
			return
		}
	}
}

// address takes the address out of "FROM:<a@b>" or "TO:<a@b> SIZE=1".
func address(arg string) string {
	if i := strings.IndexByte(arg, '<'); i >= 0 {
		if j := strings.IndexByte(arg[i:], '>'); j >= 0 {
			return arg[i+1 : i+j]
		}
	}
	return arg
}
