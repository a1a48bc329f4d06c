//go:build darwin || freebsd

package core

const mapPopulate = 0
