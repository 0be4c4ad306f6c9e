package analysis

import (
	"fmt"
	"unicode/utf8"
)

// MaxStoredText is how much of a measurement's value, and of its message, a
// run stores: 4 KiB each. Argo stores them whole. A web metric answering a
// page of HTML stored up to 1 MiB in each measurement, a Prometheus vector of
// thousands of series tens of KiB, and a condition's error can quote the
// whole answer again: the second measurement of a 1 MiB page took a run past
// etcd's limit on an object (about 1.5 MiB), so it could no longer be
// written, and never ended. At 4 KiB, a metric's ten measurements (the
// default) store at most 80 KiB of text, and a person still sees what came
// back. Conditions see the whole answer: the limit is on what is stored.
const MaxStoredText = 4 << 10

// storable returns text whole if it fits in MaxStoredText bytes; otherwise
// as much of its beginning as fits with a mark saying it was cut, never
// cutting a character in two. A page of 1 MiB is stored as its first 4065
// bytes followed by "… (cut: 1048576 bytes in all)", 4096 bytes in all.
func storable(text string) string {
	if len(text) <= MaxStoredText {
		return text
	}
	mark := fmt.Sprintf("… (cut: %d bytes in all)", len(text))
	end := MaxStoredText - len(mark)
	// Back up to the first byte of a character: a character is at most
	// utf8.UTFMax bytes, so no further than that in text that is not UTF-8.
	for back := 1; back < utf8.UTFMax && !utf8.RuneStart(text[end]); back++ {
		end--
	}
	return text[:end] + mark
}
