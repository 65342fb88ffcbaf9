from inferstream.cli import main

main()
