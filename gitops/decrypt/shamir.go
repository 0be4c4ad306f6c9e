package decrypt

import "errors"

// combineShares recovers a secret from Shamir shares as sops (and Vault,
// whose scheme sops took) splits it: each share is the secret's bytes,
// each the value of its own random polynomial over GF(2^8) at the share's
// x coordinate, followed by that coordinate. The secret is every
// polynomial's value at 0, found by Lagrange interpolation.
//
// Reference: https://github.com/getsops/sops, shamir/shamir.go.
func combineShares(shares [][]byte) ([]byte, error) {
	if len(shares) < 2 {
		return nil, errors.New("fewer than two shares")
	}
	n := len(shares[0])
	if n < 2 {
		return nil, errors.New("a share is shorter than two bytes")
	}
	xs := make([]byte, len(shares))
	seen := map[byte]bool{}
	for i, s := range shares {
		if len(s) != n {
			return nil, errors.New("the shares differ in length")
		}
		x := s[n-1]
		if seen[x] {
			return nil, errors.New("two shares have the same x coordinate")
		}
		seen[x] = true
		xs[i] = x
	}
	secret := make([]byte, n-1)
	for b := range secret {
		// L(0) = sum_i y_i * prod_{j != i} x_j / (x_i - x_j); in GF(2^8)
		// subtraction is addition, and addition is XOR.
		var sum byte
		for i, s := range shares {
			basis := byte(1)
			for j, xj := range xs {
				if i != j {
					basis = gfMul(basis, gfMul(xj, gfInverse(xs[i]^xj)))
				}
			}
			sum ^= gfMul(s[b], basis)
		}
		secret[b] = sum
	}
	return secret, nil
}

// gfMul multiplies in GF(2^8) modulo x^8 + x^4 + x^3 + x + 1, the field
// of AES.
func gfMul(a, b byte) byte {
	var p byte
	for b != 0 {
		if b&1 != 0 {
			p ^= a
		}
		carry := a & 0x80
		a <<= 1
		if carry != 0 {
			a ^= 0x1b
		}
		b >>= 1
	}
	return p
}

// gfInverse is a's multiplicative inverse, a^254 (a^255 = 1); 0 has none
// and maps to 0, which the distinct x coordinates never ask for.
func gfInverse(a byte) byte {
	result := byte(1)
	for range 254 {
		result = gfMul(result, a)
	}
	return result
}
