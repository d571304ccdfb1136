// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @title OpenTE energy escrow: the rules of docs/settlement.md, function for function as the embedded
///        EscrowEngine (src/OpenTE.Settlement/EscrowEngine.cs). Money is in wei used as minor units,
///        energy in Wh, prices in minor units per MWh, time = block.timestamp (unix seconds).
contract EnergyEscrow {
    bytes32 public constant TRADE_TYPEHASH = keccak256(
        "OpenTE.TradeCommitment(bytes32 market,uint64 interval,address buyer,address seller,uint64 quantityWh,uint64 pricePerMWh,uint64 nonce,uint64 expiry)");
    bytes32 public constant READING_TYPEHASH = keccak256(
        "OpenTE.MeterReading(bytes32 market,address meter,uint64 interval,uint64 energyWh)");
    uint256 private constant WH_PER_MWH = 1_000_000;
    uint256 private constant INT64_MAX = uint256(uint64(type(int64).max));

    enum State { None, Open, Settled, Refunded }

    struct Trade {
        address buyer;
        uint64 interval;
        address seller;
        uint64 quantityWh;
        uint64 price;
        uint64 escrow;
        uint64 collateral;
        State state;
    }

    bytes32 public immutable market;
    uint64 public immutable intervalSeconds;
    uint64 public immutable graceSeconds;
    uint64 public immutable imbalancePriceCap;
    uint64 public immutable defaultImbalancePrice;
    uint64 public immutable lossPpm;
    address public immutable operator;

    mapping(bytes32 => Trade) public trades;
    mapping(address => mapping(uint64 => bool)) public nonceUsed;
    mapping(address => address) public meterOwner;
    mapping(address => address) public ownerMeter;
    mapping(address => mapping(uint64 => uint64)) private _reading;
    mapping(address => mapping(uint64 => bool)) public hasReading;
    mapping(uint64 => uint64) private _imbalancePrice;
    mapping(uint64 => bool) private _hasImbalancePrice;
    mapping(bytes32 => uint256) public openInGroup; // keccak256(interval, seller) → open trades

    mapping(address => uint256) public available;
    mapping(address => uint256) public escrowOf;
    mapping(address => uint256) public collateralOf;
    mapping(address => int256) public energyOf;
    int256 public deposits;          // system:deposits (≤ 0: money paid in)
    int256 public imbalanceMoney;    // system:imbalance, money (explicit unlimited credit line)
    int256 public imbalanceEnergy;   // system:imbalance, Wh
    int256 public lossesEnergy;      // system:losses, Wh
    mapping(address => int256) public co2Of;      // PARTICIPANT:co2, grams CO2 (docs/carbon.md)
    mapping(bytes32 => bool) public carbonPosted; // one carbon adjustment per trade
    int256 public carbonMoney;       // system:carbon, money (explicit unlimited credit line, as imbalanceMoney)
    int256 public carbonGrams;       // system:carbon, grams CO2
    bool private _locked;

    event Deposited(address indexed participant, uint256 amount);
    event Withdrawn(address indexed participant, uint256 amount);
    event MeterRegistered(address indexed meter, address indexed owner);
    event ImbalancePriceSet(uint64 indexed interval, uint64 price);
    event Opened(bytes32 indexed id, address indexed buyer, address indexed seller, uint64 interval, uint64 quantityWh, uint64 price, uint64 escrow, uint64 collateral);
    event ReadingAccepted(address indexed meter, uint64 indexed interval, uint64 energyWh);
    event ReadingConflict(address indexed meter, uint64 indexed interval, uint64 kept, uint64 refused);
    // Settled and Refunded carry the buyer, the seller and the locked amounts, so that each event alone rebuilds
    // its ledger posting (opente ledger import-chain), also when the import starts after the trade's Opened.
    event Settled(bytes32 indexed id, address indexed buyer, address indexed seller, uint64 deliveredWh, uint64 shortfallWh,
                  uint64 excessWh, uint64 lossWh, uint256 pay, uint256 refund, uint256 charge, uint256 credit, uint256 collateral);
    event Refunded(bytes32 indexed id, address indexed buyer, address indexed seller, uint256 escrow, uint256 collateral);
    // a settled trade's carbon adjustment (docs/carbon.md): grams and money (+ = charge) of buyer and seller
    event CarbonPosted(bytes32 indexed id, address indexed buyer, address indexed seller, int64 buyerGrams, int64 sellerGrams, int64 buyerMoney, int64 sellerMoney);
    // a call of a multicall batch that was refused: its position and its revert data (the custom error)
    event CallRefused(uint256 indexed index, bytes reason);

    error InvalidFields();
    error WrongMarket();
    error BadBuyerSignature();
    error BadSellerSignature();
    error Expired();
    error GateClosed();
    error Replay();
    error NonceReused();
    error Overflow();
    error InsufficientBuyerFunds();
    error InsufficientSellerCollateral();
    error SellerHasNoMeter();
    error NotOracle();
    error BadSignature();
    error Misaligned();
    error TooEarly();
    error Late();
    error InsufficientFunds();
    error NotOperator();
    error AlreadySettled();
    error NotDue();
    error BadGroup();
    error Reentrancy();
    error TransferFailed();

    constructor(string memory marketName, uint64 interval_, uint64 grace_, uint64 cap_, uint64 defaultPrice_, uint64 lossPpm_) {
        if (interval_ == 0 || defaultPrice_ > cap_ || lossPpm_ > 1_000_000) revert InvalidFields();
        market = keccak256(bytes(marketName));
        intervalSeconds = interval_;
        graceSeconds = grace_;
        imbalancePriceCap = cap_;
        defaultImbalancePrice = defaultPrice_;
        lossPpm = lossPpm_;
        operator = msg.sender;
    }

    modifier onlyOperator() {
        if (msg.sender != operator) revert NotOperator();
        _;
    }

    modifier nonReentrant() {
        if (_locked) revert Reentrancy();
        _locked = true;
        _;
        _locked = false;
    }

    /// The one rounding rule: floor(price × wh / 10⁶); the product must fit in int64 (as in the engine).
    function amount(uint256 price, uint256 wh) public pure returns (uint256) {
        uint256 p = price * wh;
        if (p > INT64_MAX) revert Overflow();
        return p / WH_PER_MWH;
    }

    function registerMeter(address meter, address owner) external onlyOperator {
        if (meter == address(0) || owner == address(0)) revert InvalidFields();
        if (meterOwner[meter] != address(0) && meterOwner[meter] != owner) revert InvalidFields();
        if (ownerMeter[owner] != address(0) && ownerMeter[owner] != meter) revert InvalidFields();
        meterOwner[meter] = owner;
        ownerMeter[owner] = meter;
        emit MeterRegistered(meter, owner);
    }

    function setImbalancePrice(uint64 interval, uint64 price) external onlyOperator {
        if (price > imbalancePriceCap) revert InvalidFields();
        _imbalancePrice[interval] = price;
        _hasImbalancePrice[interval] = true;
        emit ImbalancePriceSet(interval, price);
    }

    function imbalancePrice(uint64 interval) public view returns (uint64) {
        return _hasImbalancePrice[interval] ? _imbalancePrice[interval] : defaultImbalancePrice;
    }

    function depositFor(address participant) external payable {
        if (msg.value == 0 || participant == address(0) || msg.value > INT64_MAX) revert InvalidFields();
        available[participant] += msg.value;
        deposits -= int256(msg.value);
        emit Deposited(participant, msg.value);
    }

    /// Checks-effects-interactions and a re-entrancy lock.
    function withdraw(uint256 value) external nonReentrant {
        if (value == 0) revert InvalidFields();
        if (available[msg.sender] < value) revert InsufficientFunds();
        available[msg.sender] -= value;
        deposits += int256(value);
        emit Withdrawn(msg.sender, value);
        (bool ok, ) = msg.sender.call{value: value}("");
        if (!ok) revert TransferFailed();
    }

    function tradeDigest(bytes32 mkt, uint64 interval, address buyer, address seller, uint64 q, uint64 price, uint64 nonce, uint64 expiry)
        public pure returns (bytes32)
    {
        return keccak256(abi.encode(TRADE_TYPEHASH, mkt, interval, buyer, seller, q, price, nonce, expiry));
    }

    function _recover(bytes32 digest, bytes calldata sig) private pure returns (address) {
        if (sig.length != 65) return address(0);
        bytes32 r;
        bytes32 s;
        uint8 v;
        assembly {
            r := calldataload(sig.offset)
            s := calldataload(add(sig.offset, 32))
            v := byte(0, calldataload(add(sig.offset, 64)))
        }
        if (v < 27) v += 27;
        // only low-s signatures (EIP-2): no malleated twin of a valid signature
        if (uint256(s) > 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0) return address(0);
        bytes32 h = keccak256(abi.encodePacked("\x19Ethereum Signed Message:\n32", digest));
        return ecrecover(h, v, r, s);
    }

    function open(bytes32 mkt, uint64 interval, address buyer, address seller, uint64 q, uint64 price, uint64 nonce, uint64 expiry,
                  bytes calldata sigBuyer, bytes calldata sigSeller) external returns (bytes32 id)
    {
        if (buyer == address(0) || seller == address(0) || q == 0 || q > INT64_MAX || price > INT64_MAX || interval > INT64_MAX || expiry > INT64_MAX)
            revert InvalidFields();
        if (interval % intervalSeconds != 0) revert Misaligned();
        if (buyer == seller) revert InvalidFields();
        if (mkt != market) revert WrongMarket();
        id = tradeDigest(mkt, interval, buyer, seller, q, price, nonce, expiry);
        address rb = _recover(id, sigBuyer);
        if (rb == address(0) || rb != buyer) revert BadBuyerSignature();
        address rs = _recover(id, sigSeller);
        if (rs == address(0) || rs != seller) revert BadSellerSignature();
        if (trades[id].state != State.None) revert Replay();
        if (nonceUsed[buyer][nonce] || nonceUsed[seller][nonce]) revert NonceReused();
        if (block.timestamp > expiry) revert Expired();
        if (block.timestamp >= interval) revert GateClosed();
        if (ownerMeter[seller] == address(0)) revert SellerHasNoMeter();
        uint256 esc = amount(price, q);
        uint256 col = amount(imbalancePriceCap, q);
        if (available[buyer] < esc) revert InsufficientBuyerFunds();
        if (available[seller] < col) revert InsufficientSellerCollateral();

        trades[id] = Trade(buyer, interval, seller, q, price, uint64(esc), uint64(col), State.Open);
        nonceUsed[buyer][nonce] = true;
        nonceUsed[seller][nonce] = true;
        openInGroup[keccak256(abi.encode(interval, seller))] += 1;
        available[buyer] -= esc;
        escrowOf[buyer] += esc;
        available[seller] -= col;
        collateralOf[seller] += col;
        emit Opened(id, buyer, seller, interval, q, price, uint64(esc), uint64(col));
    }

    /// A registered meter's signed reading, relayed by anyone. Identical repeats change nothing; a different
    /// value is flagged by an event and the first value kept (no revert, so the flag is recorded).
    function postReading(bytes32 mkt, address meter, uint64 interval, uint64 energyWh, bytes calldata sig) external {
        if (meter == address(0) || energyWh > INT64_MAX || interval > INT64_MAX) revert InvalidFields();
        if (mkt != market) revert WrongMarket();
        if (meterOwner[meter] == address(0)) revert NotOracle();
        bytes32 d = keccak256(abi.encode(READING_TYPEHASH, mkt, meter, interval, energyWh));
        address r = _recover(d, sig);
        if (r == address(0) || r != meter) revert BadSignature();
        if (interval % intervalSeconds != 0) revert Misaligned();
        if (hasReading[meter][interval]) {
            uint64 old = _reading[meter][interval];
            if (old != energyWh) emit ReadingConflict(meter, interval, old, energyWh);
            return;
        }
        if (block.timestamp < uint256(interval) + intervalSeconds) revert TooEarly();
        if (block.timestamp >= uint256(interval) + intervalSeconds + graceSeconds) revert Late();
        _reading[meter][interval] = energyWh;
        hasReading[meter][interval] = true;
        emit ReadingAccepted(meter, interval, energyWh);
    }

    function readingOf(address meter, uint64 interval) external view returns (uint64) {
        return _reading[meter][interval];
    }

    /// Settles all open trades of (interval, seller): ids must be exactly those trades, in ascending order
    /// (the engine's allocation order). Delivered energy is allocated in that order; the last trade takes the excess.
    function settleGroup(uint64 interval, address seller, bytes32[] calldata ids) external {
        bytes32 g = keccak256(abi.encode(interval, seller));
        if (ids.length == 0 || ids.length != openInGroup[g]) revert BadGroup();
        if (block.timestamp < uint256(interval) + intervalSeconds) revert NotDue();
        address meter = ownerMeter[seller];
        if (!hasReading[meter][interval]) revert NotDue();
        uint256 remaining = _reading[meter][interval];
        uint64 pi = imbalancePrice(interval);
        for (uint256 i = 0; i < ids.length; i++) {
            if (i > 0 && ids[i] <= ids[i - 1]) revert BadGroup();
            Trade storage t = trades[ids[i]];
            if (t.state != State.Open) revert AlreadySettled();
            if (t.interval != interval || t.seller != seller) revert BadGroup();
            uint256 m = t.quantityWh < remaining ? t.quantityWh : remaining;
            remaining -= m;
            uint256 s = t.quantityWh - m;
            uint256 e = i == ids.length - 1 ? remaining : 0;
            _settleOne(ids[i], t, m, s, e, pi);
        }
        openInGroup[g] = 0;
    }

    function _settleOne(bytes32 id, Trade storage t, uint256 m, uint256 s, uint256 e, uint64 pi) private {
        uint256 pay = amount(t.price, m);
        uint256 back = t.escrow - pay;
        uint256 charge = amount(pi, s);
        uint256 credit = amount(pi, e);
        uint256 loss = m * lossPpm / 1_000_000;
        escrowOf[t.buyer] -= t.escrow;
        available[t.seller] += pay;
        available[t.buyer] += back;
        collateralOf[t.seller] -= t.collateral;
        imbalanceMoney += int256(charge);
        available[t.seller] += t.collateral - charge;
        imbalanceMoney -= int256(credit);
        available[t.seller] += credit;
        energyOf[t.seller] -= int256(m + e);
        energyOf[t.buyer] += int256(m - loss + s);
        lossesEnergy += int256(loss);
        imbalanceEnergy += int256(e) - int256(s);
        t.state = State.Settled;
        emit Settled(id, t.buyer, t.seller, uint64(m), uint64(s), uint64(e), uint64(loss), pay, back, charge, credit, t.collateral);
    }

    /// The operator's carbon adjustment of a settled trade (docs/carbon.md; EscrowEngine.PostCarbon): the buyer's and the
    /// seller's grams CO2 against the community's carbon account, and the carbon money (+ = a charge paid from the party's
    /// available balance into the carbon account, - = a credit paid out of it). Once per trade; the same checks in the same
    /// order as the engine (unknown trade, not settled, already posted, a charge above the available balance).
    function postCarbon(bytes32 id, int64 buyerGrams, int64 sellerGrams, int64 buyerMoney, int64 sellerMoney) external onlyOperator {
        Trade storage t = trades[id];
        if (t.state == State.None) revert InvalidFields();
        if (t.state != State.Settled) revert TooEarly();
        if (carbonPosted[id]) revert Replay();
        if (buyerMoney > 0 && available[t.buyer] < uint256(uint64(buyerMoney))) revert InsufficientFunds();
        if (sellerMoney > 0 && available[t.seller] < uint256(uint64(sellerMoney))) revert InsufficientFunds();
        if (buyerMoney == type(int64).min || sellerMoney == type(int64).min) revert Overflow();
        carbonPosted[id] = true;
        _carbonMoney(t.buyer, buyerMoney);
        _carbonMoney(t.seller, sellerMoney);
        co2Of[t.buyer] += buyerGrams;
        co2Of[t.seller] += sellerGrams;
        carbonGrams -= int256(buyerGrams) + int256(sellerGrams);
        emit CarbonPosted(id, t.buyer, t.seller, buyerGrams, sellerGrams, buyerMoney, sellerMoney);
    }

    function _carbonMoney(address p, int64 m) private {
        if (m > 0) available[p] -= uint256(uint64(m));
        else available[p] += uint256(uint64(-m));
        carbonMoney += int256(m);
    }

    /// No reading by the deadline: the buyer gets the escrow back, the seller the collateral.
    function refund(bytes32 id) external {
        Trade storage t = trades[id];
        if (t.state == State.None) revert InvalidFields();
        if (t.state != State.Open) revert AlreadySettled();
        if (block.timestamp < uint256(t.interval) + intervalSeconds + graceSeconds) revert NotDue();
        if (hasReading[ownerMeter[t.seller]][t.interval]) revert NotDue();
        escrowOf[t.buyer] -= t.escrow;
        available[t.buyer] += t.escrow;
        collateralOf[t.seller] -= t.collateral;
        available[t.seller] += t.collateral;
        openInGroup[keccak256(abi.encode(t.interval, t.seller))] -= 1;
        t.state = State.Refunded;
        emit Refunded(id, t.buyer, t.seller, t.escrow, t.collateral);
    }

    /// Several calls of this contract in one transaction (batched settlement: opens, readings, settleGroup, refunds),
    /// each run as if sent alone by the same sender (delegatecall to this contract: msg.sender and the operator and
    /// oracle checks are unchanged). A refused call undoes only itself and is reported by a CallRefused event with
    /// its index and custom error; the others stand. Not payable, so no call can count the transaction's value twice
    /// (deposits need their own transaction).
    function multicall(bytes[] calldata calls) external returns (uint256 refused) {
        for (uint256 i = 0; i < calls.length; i++) {
            (bool ok, bytes memory reason) = address(this).delegatecall(calls[i]);
            if (!ok) {
                refused++;
                emit CallRefused(i, reason);
            }
        }
    }
}
