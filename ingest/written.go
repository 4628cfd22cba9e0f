package ingest

// OnWritten sets fn to hear, after each transaction the writer commits, how many
// heartbeats it stored per service record id; nil stops it. fn runs on the writer's
// goroutine between two commits, so it must be quick (retention adds the counts to its
// own). Beats committed before OnWritten are not reported.
func (w *Writer) OnWritten(fn func(beats map[string]int)) {
	if fn == nil {
		w.written.Store(nil)
		return
	}
	w.written.Store(&fn)
}

// noteWritten reports the beats of a committed batch to the OnWritten hook.
func (w *Writer) noteWritten(batch []*job) {
	fn := w.written.Load()
	if fn == nil {
		return
	}
	beats := map[string]int{}
	for _, j := range batch {
		for _, b := range j.beats {
			beats[b.ServiceRecordID]++
		}
	}
	if len(beats) > 0 {
		(*fn)(beats)
	}
}
