// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

interface IEnergyEscrow {
    function depositFor(address participant) external payable;
    function withdraw(uint256 value) external;
}

/// Test only: tries to re-enter EnergyEscrow.withdraw from its receive hook.
contract ReentrancyAttacker {
    IEnergyEscrow public immutable target;
    bool public reentered;
    bool public blocked;
    uint256 private _value;

    constructor(address escrow) {
        target = IEnergyEscrow(escrow);
    }

    function attack(uint256 value) external payable {
        _value = value;
        target.depositFor{value: msg.value}(address(this));
        target.withdraw(value);
    }

    receive() external payable {
        if (msg.sender != address(target) || reentered || blocked) return;
        try target.withdraw(_value) {
            reentered = true;
        } catch {
            blocked = true;
        }
    }
}
