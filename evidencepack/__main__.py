from evidencepack.cli import main

main()
