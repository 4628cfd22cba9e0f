package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"
)

// walEvery is how often the write-ahead log's size is sampled during a run.
const walEvery = 50 * time.Millisecond

// walFigures is what a run measured of the server's write-ahead log: the largest size
// sampled while beats were being sent, and the size once the load had settled.
type walFigures struct {
	Path       string  `json:"path"`
	MaxBytes   int64   `json:"maxBytes"`
	AfterBytes int64   `json:"afterBytes"`
	Samples    int     `json:"samples"`
	SettleS    float64 `json:"settleS"` // how long after the load AfterBytes was taken
}

// fileSize is the size of path, 0 when it does not exist (SQLite has not created the log
// yet, or removed it).
func fileSize(path string) (int64, error) {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("wal size: %w", err)
	}
	return fi.Size(), nil
}

// sampleMax reads size at every tick until stop is closed, and returns the largest value
// read (including one read at the start and one at stop) and how many reads it made.
func sampleMax(size func() (int64, error), tick <-chan time.Time, stop <-chan struct{}) (peak int64, samples int, err error) {
	read := func() error {
		s, err := size()
		if err != nil {
			return err
		}
		peak = max(peak, s)
		samples++
		return nil
	}
	if err := read(); err != nil {
		return peak, samples, err
	}
	for {
		select {
		case <-tick:
			if err := read(); err != nil {
				return peak, samples, err
			}
		case <-stop:
			return peak, samples, read()
		}
	}
}

// settle reads size at every tick until it is 0 or give fires, and returns the last
// value read: what the log has shrunk to after the load.
func settle(size func() (int64, error), tick <-chan time.Time, give <-chan time.Time) (int64, error) {
	for {
		s, err := size()
		if err != nil || s == 0 {
			return s, err
		}
		select {
		case <-tick:
		case <-give:
			return size()
		}
	}
}
