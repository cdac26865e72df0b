module goapi.test/gomux

go 1.22
