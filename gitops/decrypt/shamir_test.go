package decrypt

import (
	"bytes"
	"strings"
	"testing"

	"github.com/getsops/sops/v3/shamir"
)

func TestCombineShares(t *testing.T) {
	secret := []byte("a data key of thirty-two bytes!!")
	split := func(parts, threshold int) [][]byte {
		t.Helper()
		shares, err := shamir.Split(secret, parts, threshold)
		if err != nil {
			t.Fatal(err)
		}
		return shares
	}
	twoOfThree, threeOfFive := split(3, 2), split(5, 3)
	tests := []struct {
		reason  string
		shares  [][]byte
		want    []byte
		wantErr string
	}{
		{
			// f(x) = 0x42 + 0x01·x: f(1) = 0x43, f(2) = 0x42 ^ 0x02 = 0x40.
			reason: "a line through (1, 0x43) and (2, 0x40) crosses 0 at 0x42",
			shares: [][]byte{{0x43, 1}, {0x40, 2}},
			want:   []byte{0x42},
		},
		{reason: "two of three sops shares recover the key", shares: twoOfThree[1:], want: secret},
		{reason: "all three of three recover it too", shares: twoOfThree, want: secret},
		{reason: "any three of five sops shares recover the key", shares: [][]byte{threeOfFive[4], threeOfFive[0], threeOfFive[2]}, want: secret},
		{reason: "one share is not enough to combine", shares: twoOfThree[:1], wantErr: "fewer than two shares"},
		{reason: "a share twice is refused, not divided by zero", shares: [][]byte{twoOfThree[0], twoOfThree[0]}, wantErr: "same x coordinate"},
		{reason: "shares of different lengths are refused", shares: [][]byte{twoOfThree[0], twoOfThree[1][1:]}, wantErr: "differ in length"},
		{reason: "a share of one byte holds no secret", shares: [][]byte{{1}, {2}}, wantErr: "shorter than two bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.reason, func(t *testing.T) {
			got, err := combineShares(tt.shares)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one with %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tt.want) {
				t.Errorf("combined %x, want %x", got, tt.want)
			}
		})
	}
}

func TestGFInverse(t *testing.T) {
	for a := 1; a < 256; a++ {
		if got := gfMul(byte(a), gfInverse(byte(a))); got != 1 {
			t.Fatalf("%#x · inverse(%#x) = %#x, want 1", a, a, got)
		}
	}
}
